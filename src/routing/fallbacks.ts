/**
 * The `[routing.fallbacks]` table, keyed the way requests are resolved: a fallback set for
 * `llama3` serves a client asking `llama3:latest` or `LLAMA3`, one set for `llama3:latest`
 * serves `llama3`, and one set for an alias serves its target (a request is decided on the
 * model it resolves to). Built once per configuration, read per request.
 * @module
 */
import { resolveAlias } from "../core/aliases.ts"
import { modelKey, normaliseModel } from "../core/model-name.ts"

export type FallbackTable = ReadonlyMap<string, readonly string[]>

/**
 * Every key under the name its spellings share (`modelKey`), and an alias key under its
 * target's too. Where two keys meet, a key naming the model itself beats one reached
 * through an alias; otherwise the first in the file wins.
 */
export function fallbackTable(fallbacks: Readonly<Record<string, string[]>>, aliases: Readonly<Record<string, string>>): FallbackTable {
  const table = new Map<string, readonly string[]>()
  const keys = Object.keys(fallbacks)
  for (const k of keys) if (!table.has(modelKey(k))) table.set(modelKey(k), fallbacks[k]!)
  // Exact alias keys only: a glob alias yields to whatever a backend serves, which is
  // known per request, not per configuration.
  const exact = (n: string) => Object.hasOwn(aliases, n)
  const exactOnly = () => true
  for (const k of keys) {
    const target = resolveAlias(aliases, normaliseModel(k, exact), exactOnly)
    if (modelKey(target) !== modelKey(k) && !table.has(modelKey(target))) table.set(modelKey(target), fallbacks[k]!)
  }
  return table
}
