/**
 * Alias resolution: up to three hops, as in the original. Cycles are rejected when
 * the configuration loads, so here a cycle can only cut the walk short. Pure and below
 * both config (which rejects chains longer than the limit) and routing (which follows them).
 *
 * Keys may be globs (`*` any run of characters, `?` one): coding agents ask for their own
 * ids (`claude-sonnet-4-5`, `claude-haiku-4-5`, ...), which change with every release.
 * An exact key wins, then the same key spelled otherwise (case and `:latest` aside), then
 * the first matching glob in the file. A glob names a model the way every model glob does
 * (core/glob.ts: case and `:latest` aside).
 * @module
 */
import { modelMatch } from "./glob.ts"
import { modelKey } from "./model-name.ts"

export const MAX_ALIAS_HOPS = 3

export function isGlob(key: string): boolean {
  return key.includes("*") || key.includes("?")
}

/**
 * The target of the alias that applies to `name`: its exact key, else the first matching
 * glob, unless `served` says a backend lists `name` itself (a glob never hides a real model).
 */
export function aliasTarget(aliases: Record<string, string>, name: string, served?: (n: string) => boolean): string | undefined {
  // Own keys only: a model named `constructor` is not an alias of Object's.
  const exact = Object.hasOwn(aliases, name) ? aliases[name] : undefined
  if (exact !== undefined) return exact
  if (served?.(name)) return undefined
  // The same key in another spelling (`FAST` for `fast`), before any glob.
  const wanted = modelKey(name)
  for (const key in aliases) {
    if (Object.hasOwn(aliases, key) && !isGlob(key) && modelKey(key) === wanted) return aliases[key]
  }
  for (const key in aliases) {
    if (isGlob(key) && modelMatch(key, name)) return aliases[key]
  }
  return undefined
}

/** Follow `aliases` from `model`; returns the final name (the input when no alias applies). */
export function resolveAlias(aliases: Record<string, string>, model: string, served?: (n: string) => boolean): string {
  let current = model
  for (let hop = 0; hop < MAX_ALIAS_HOPS; hop++) {
    const next = aliasTarget(aliases, current, served)
    if (next === undefined || next === current) break
    current = next
  }
  return current
}
