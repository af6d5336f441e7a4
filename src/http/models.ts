/**
 * `GET /v1/models` and `GET /v1/models/{id}`: one entry per model id across healthy
 * backends, with what we know of it and who serves it. Aliases whose target is
 * available are listed too, so pickers in Open WebUI or Continue can offer them; glob
 * aliases (`claude-*`) are patterns, not models, so they are not listed, but any name they
 * match is answered by `GET /v1/models/{id}`, like every name a request could use.
 * @module
 */
import { Hono } from "hono"
import type { Backend, ModelCapabilities } from "../core/backend.ts"
import { isGlob, resolveAlias } from "../core/aliases.ts"
import { nameVariants } from "../core/model-name.ts"
import { messages } from "../ingress/anthropic/endpoints.ts"
import { VERSION } from "../version.ts"
import type { AppDeps, Env } from "./deps.ts"
import { NexusError } from "../core/errors.ts"
import type { ApiKey } from "../core/api-key.ts"
import { keyAllows } from "../policy/keys.ts"

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
export function keyModels(deps: AppDeps, key: ApiKey | undefined): ModelEntry[] {
  const all = listModels(deps)
  return key?.models ? all.filter((e) => keyAllows(key.models, deps.router.resolve(e.id))) : all
}

export function listModels(deps: AppDeps): ModelEntry[] {
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
 * The model id from the raw path, percent-decoded exactly once (Hono's param has been
 * decoded already and keeps broken escapes as they are, so a second decode threw on
 * `%ff` and mangled ids that contain `%`). Broken escapes are the client's error.
 */
function modelIdOf(url: string): string {
  // Not `new URL`: Bun passes on a Host it could not use (`[::1`, none at all with
  // HTTP/1.0), which makes the URL a bare path or unparseable.
  const start = url.startsWith("/") ? 0 : url.indexOf("/", url.indexOf("//") + 2)
  const path = url.slice(start).split(/[?#]/, 1)[0]!
  // The route matched, so the first segments are "", "v1" and "models" (perhaps escaped).
  const raw = path.split("/").slice(3).join("/")
  try {
    return decodeURIComponent(raw)
  } catch {
    throw new NexusError({
      kind: "invalid_request",
      message: `The model id in the path is not valid percent-encoded UTF-8: '${raw}'. Encode the id with encodeURIComponent.`,
      code: "invalid_model_id",
      param: "model",
    })
  }
}

export function modelRoutes(deps: AppDeps) {
  const app = new Hono<Env>()
  app.get("/v1/models", (c) => {
    // Lets discovery recognise another Nexus and not proxy to it in a loop.
    c.header("x-nexus-version", VERSION)
    // Anthropic clients (they always send anthropic-version) read their own list shape.
    const models = keyModels(deps, c.get("scope").key)
    if (c.req.header("anthropic-version")) return c.json(anthropicList(models, deps.stats.startedAt))
    return c.json({ object: "list", data: models })
  })
  // Model ids contain slashes (`meta-llama/Llama-3.1-8B-Instruct`): match the rest of the path.
  app.get("/v1/models/:id{.+}", (c) => {
    const anthropic = c.req.header("anthropic-version") !== undefined
    if (anthropic) c.get("scope").dialect = messages
    const id = modelIdOf(c.req.url)
    const entry = routableModel(keyModels(deps, c.get("scope").key), deps.config().routing.aliases, id)
    if (!entry) {
      throw new NexusError({
        kind: "not_found",
        message: `Model '${id}' not found.`,
        code: "model_not_found",
        param: "model",
      })
    }
    return c.json(anthropic ? anthropicModel(entry, deps.stats.startedAt) : entry)
  })
  return app
}

/**
 * The entry for any name a request could use: a listed id, its `:latest` spelling, or
 * an alias (exact or glob) whose target is served, reported under the name asked for.
 */
function routableModel(entries: ModelEntry[], aliases: Record<string, string>, id: string): ModelEntry | undefined {
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

function anthropicModel(e: ModelEntry, startedAt: number) {
  return { type: "model", id: e.id, display_name: e.alias_of ? `${e.id} (${e.alias_of})` : e.id, created_at: new Date(startedAt).toISOString() }
}

/** The list in Anthropic's shape: `type: "model"`, `display_name`, `created_at`, paging ids. */
function anthropicList(entries: ModelEntry[], startedAt: number) {
  const data = entries.map((e) => anthropicModel(e, startedAt))
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null }
}
