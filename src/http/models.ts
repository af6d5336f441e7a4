/**
 * `GET /v1/models` and `GET /v1/models/{id}`: one entry per model id across healthy
 * backends, with what we know of it and who serves it. Aliases whose target is
 * available are listed too, so pickers in Open WebUI or Continue can offer them.
 * @module
 */
import { Hono } from "hono"
import type { Backend, ModelCapabilities } from "../core/backend.ts"
import { resolveAlias } from "../core/aliases.ts"
import { VERSION } from "../version.ts"
import type { AppDeps, Env } from "./deps.ts"
import { NexusError } from "../core/errors.ts"

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
  for (const alias of Object.keys(aliases)) {
    if (byId.has(alias)) continue
    const target = entries.find((e) => e.id === resolveAlias(aliases, alias) && !e.alias_of)
    if (target) entries.push({ ...target, id: alias, alias_of: target.id })
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
    if (c.req.header("anthropic-version")) return c.json(anthropicList(listModels(deps), deps.stats.startedAt))
    return c.json({ object: "list", data: listModels(deps) })
  })
  // Model ids contain slashes (`meta-llama/Llama-3.1-8B-Instruct`): match the rest of the path.
  app.get("/v1/models/:id{.+}", (c) => {
    const id = modelIdOf(c.req.url)
    const entry = listModels(deps).find((m) => m.id === id)
    if (!entry) {
      throw new NexusError({
        kind: "not_found",
        message: `Model '${id}' not found.`,
        code: "model_not_found",
        param: "model",
      })
    }
    return c.json(entry)
  })
  return app
}

/** The list in Anthropic's shape: `type: "model"`, `display_name`, `created_at`, paging ids. */
function anthropicList(entries: ModelEntry[], startedAt: number) {
  const created = new Date(startedAt).toISOString()
  const data = entries.map((e) => ({ type: "model", id: e.id, display_name: e.alias_of ? `${e.id} (${e.alias_of})` : e.id, created_at: created }))
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null }
}
