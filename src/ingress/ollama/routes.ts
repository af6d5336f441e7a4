/**
 * Ollama's API for Ollama clients (Open WebUI's Ollama connection, ollama-js, Continue's
 * `ollama` provider), answered from the registry: `/api/tags`, `/api/show`, `/api/ps`,
 * `/api/version`, and `GET|HEAD /` ("Ollama is running") for clients that do not ask
 * for HTML (a browser's request falls through to whatever serves pages at `/`). Its
 * proxied routes (`/api/chat`, `/api/generate`, `/api/embed`, `/api/embeddings`) are
 * its endpoints (index.ts).
 * @module
 */
import { Hono, type Context } from "hono"
import { NexusError } from "../../core/errors.ts"
import { VERSION } from "../../version.ts"
import { prefersHtml } from "../accept.ts"
import { entryNamed, keyModels, type CatalogDeps, type ModelEntry } from "../catalog.ts"
import type { IngressEnv as Env } from "../dialect.ts"
import { ollamaChat } from "./endpoints.ts"

/**
 * The Ollama API version we answer with: clients compare it numerically to enable
 * features (Open WebUI wants plain semver; Codex's `--oss` mode refuses anything below
 * 0.13.4, the first release with the Responses API), and Nexus serves that API level.
 */
const OLLAMA_API_VERSION = "0.13.5"

/** What `ollama pull` prints for a model that is already there, one NDJSON line each. */
const PULL_STEPS = ["pulling manifest", "verifying sha256 digest", "writing manifest", "success"]

function capabilities(e: ModelEntry): string[] {
  const c = e.capabilities
  const out: string[] = []
  if (c.completion !== false && c.embeddings !== true) out.push("completion")
  if (c.tools) out.push("tools")
  if (c.vision) out.push("vision")
  if (c.embeddings) out.push("embedding")
  return out
}

function details(e: ModelEntry) {
  const family = e.id.split(/[/:]/).at(-2) ?? e.id
  return {
    parent_model: e.alias_of ?? "",
    format: "gguf",
    family,
    families: [family],
    parameter_size: "",
    quantization_level: "",
    ...(e.context_length ? { context_length: e.context_length } : {}),
  }
}

function tag(e: ModelEntry, modified: string) {
  return { name: e.id, model: e.id, modified_at: modified, size: 0, digest: "", details: details(e), capabilities: capabilities(e) }
}

/** The entry for `name` among the models the request's key may use (as /api/tags lists them). */
function findModel(deps: CatalogDeps, c: Context<Env>, name: string): ModelEntry | undefined {
  return entryNamed(keyModels(deps, c.get("scope").key), name)
}

/** The model name of an Ollama management request (`model`, or the older `name`). */
async function modelOf(c: Context<Env>): Promise<{ name: string; body: Record<string, unknown> }> {
  const body = (await c.req.json().catch(() => undefined)) as Record<string, unknown> | undefined
  const name = body && typeof body === "object" ? (body.model ?? body.name) : undefined
  if (typeof name !== "string" || !name) throw new NexusError({ kind: "invalid_request", message: "model is required", param: "model" })
  return { name, body: body! }
}

/**
 * `/api/pull` of a model some backend serves succeeds, as a progress stream like
 * Ollama's for a model it already has: clients (Codex's `--oss` mode, Open WebUI) pull
 * before they use a model. Nexus never downloads one, so any other name is an error.
 */
async function pull(c: Context<Env>, deps: CatalogDeps): Promise<Response> {
  const { name, body } = await modelOf(c)
  const stream = body.stream !== false
  if (!findModel(deps, c, name)) {
    const message = `pull model manifest: model '${name}' is not served by any backend behind Nexus, and Nexus does not download models: pull it on one of the backends (ollama pull ${name})`
    // Ollama streams a failed pull as a 200 whose last line is the error: clients print that line.
    if (stream) return ndjson([{ status: "pulling manifest" }, { error: message }])
    throw new NexusError({ kind: "not_found", message, code: "model_not_found", param: "model" })
  }
  if (!stream) return c.json({ status: "success" })
  return ndjson(PULL_STEPS.map((status) => ({ status })))
}

function ndjson(lines: object[]): Response {
  return new Response(lines.map((l) => `${JSON.stringify(l)}\n`).join(""), { headers: { "content-type": "application/x-ndjson" } })
}

export function ollamaRoutes(deps: CatalogDeps) {
  const app = new Hono<Env>()
  // Every error on Ollama's paths, unknown routes and wrong methods included, is in
  // Ollama's envelope: ollama-js and Open WebUI show any other shape as `[object Object]`.
  app.use("/api/*", async (c, next) => {
    c.get("scope").dialect = ollamaChat
    await next()
  })

  const modified = () => new Date(deps.stats.startedAt).toISOString()
  app.get("/api/tags", (c) => c.json({ models: keyModels(deps, c.get("scope").key).map((e) => tag(e, modified())) }))
  app.get("/api/ps", (c) => {
    const loaded = keyModels(deps, c.get("scope").key).filter((e) => e.loaded === true)
    const expires = new Date(Date.now() + 5 * 60_000).toISOString()
    return c.json({
      models: loaded.map((e) => ({ ...tag(e, modified()), expires_at: expires, size_vram: 0, ...(e.context_length ? { context_length: e.context_length } : {}) })),
    })
  })
  app.get("/api/version", (c) => {
    c.header("x-nexus-version", VERSION)
    return c.json({ version: OLLAMA_API_VERSION })
  })
  app.post("/api/pull", (c) => pull(c, deps))
  app.post("/api/show", async (c) => {
    const { name } = await modelOf(c)
    const e = findModel(deps, c, name)
    if (!e) throw new NexusError({ kind: "not_found", message: `model '${name}' not found`, code: "model_not_found", param: "model" })
    const ctx = e.context_length
    return c.json({
      license: "",
      modelfile: `# Served by Nexus from: ${e.backends.join(", ")}\nFROM ${e.alias_of ?? e.id}\n`,
      // Continue reads num_ctx from here to size its context window.
      parameters: ctx ? `num_ctx                        ${ctx}` : "",
      template: "",
      details: details(e),
      model_info: { "general.architecture": "nexus", ...(ctx ? { "nexus.context_length": ctx } : {}) },
      capabilities: capabilities(e),
      modified_at: modified(),
    })
  })

  // What `ollama serve` answers at its root; browsers asking for a page get the next handler.
  app.get("/", async (c, next) => {
    if (prefersHtml(c.req.header("accept"))) return next()
    return c.text("Ollama is running")
  })
  return app
}
