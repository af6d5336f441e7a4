/**
 * The models a client may name: one entry per model id across healthy backends, with what
 * we know of it and who serves it, plus aliases whose target is available (pickers in
 * Open WebUI or Continue can offer them). Glob aliases (`claude-*`) are patterns, not
 * models, so they are not listed, but any name they match is found by `routableModel`,
 * like every name a request could use. Each dialect renders these entries in its own shape.
 * @module
 */
import type { Backend, ModelCapabilities } from "../core/backend.ts"
import { isGlob, resolveAlias } from "../core/aliases.ts"
import type { ApiKey } from "../core/api-key.ts"
import { nameVariants } from "../core/model-name.ts"
import type { NexusConfig } from "../config/types.ts"
import { keyAllows } from "../policy/keys.ts"
import type { Registry } from "../registry/registry.ts"
import type { Router } from "../routing/router.ts"

/** What listing the models reads. */
export interface CatalogDeps {
  config(): NexusConfig
  registry: Pick<Registry, "list">
  router: Pick<Router, "resolve">
  /** When Nexus started: the `created` of every entry. */
  stats: { readonly startedAt: number }
}

export interface ModelEntry {
  id: string
  object: "model"
  created: number
  owned_by: string
  context_length: number | null
  capabilities: Record<keyof Required<ModelCapabilities>, boolean | null>
  loaded: boolean | null
  backends: string[]
  alias_of?: string
}

const CAPS: (keyof Required<ModelCapabilities>)[] = ["completion", "vision", "tools", "json_mode", "embeddings"]

/** Merge tri-state facts: yes if any backend says yes, no only if all that know say no. */
function mergeCaps(backends: Backend[], id: string): ModelEntry["capabilities"] {
  const out = {} as ModelEntry["capabilities"]
  for (const cap of CAPS) {
    let v: boolean | null = null
    for (const b of backends) {
      const known = b.models.get(id)?.capabilities[cap]
      if (known === true) {
        v = true
        break
      }
      if (known === false) v = false
    }
    out[cap] = v
  }
  return out
}

/** The models `key` may use (all of them without a key or globs), as the policy decides it: on the resolved name. */
export function keyModels(deps: CatalogDeps, key: ApiKey | undefined): ModelEntry[] {
  const all = listModels(deps)
  return key?.models ? all.filter((e) => keyAllows(key.models, deps.router.resolve(e.id))) : all
}

function listModels(deps: CatalogDeps): ModelEntry[] {
  const created = Math.floor(deps.stats.startedAt / 1000)
  const byId = new Map<string, Backend[]>()
  for (const b of deps.registry.list()) {
    if (b.status !== "healthy") continue
    for (const id of b.models.keys()) {
      const list = byId.get(id)
      if (list) list.push(b)
      else byId.set(id, [b])
    }
  }
  const entries: ModelEntry[] = []
  for (const [id, backends] of byId) {
    backends.sort((a, b) => a.priority - b.priority)
    const contexts = backends.map((b) => b.models.get(id)?.contextLength).filter((n): n is number => !!n)
    const loaded = backends.map((b) => b.models.get(id)?.loaded)
    entries.push({
      id,
      object: "model",
      created,
      owned_by: backends[0]!.name,
      context_length: contexts.length ? Math.max(...contexts) : null,
      capabilities: mergeCaps(backends, id),
      loaded: loaded.includes(true) ? true : loaded.includes(false) ? false : null,
      backends: backends.map((b) => b.name),
    })
  }
  const aliases = deps.config().routing.aliases
  const served = entries.slice()
  for (const alias of Object.keys(aliases)) {
    if (byId.has(alias) || isGlob(alias)) continue
    const entry = routableModel(served, aliases, alias)
    if (entry) entries.push(entry)
  }
  return entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/**
 * The entry for any name a request could use: a listed id, its `:latest` spelling, or
 * an alias (exact or glob) whose target is served, reported under the name asked for.
 */
export function routableModel(entries: ModelEntry[], aliases: Record<string, string>, id: string): ModelEntry | undefined {
  const find = (name: string) => entryNamed(entries, name)
  const direct = find(id)
  if (direct) return direct
  const served = (n: string) => {
    const e = find(n)
    return e !== undefined && e.alias_of === undefined
  }
  const target = resolveAlias(aliases, id, served)
  const entry = target === id ? undefined : find(target)
  return entry && { ...entry, id, alias_of: entry.alias_of ?? entry.id }
}

/** The entry listed under `name` or one of its spellings (`:latest`, case). */
export function entryNamed(entries: readonly ModelEntry[], name: string): ModelEntry | undefined {
  for (const v of nameVariants(name)) {
    const hit = entries.find((e) => e.id === v)
    if (hit) return hit
  }
  return undefined
}
