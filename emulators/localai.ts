/**
 * LocalAI (reference/backends.md §7; `core/http/routes/health.go`, `localai.go`,
 * `endpoints/openai/chat.go`, `chat_emit.go`): `/healthz` empty 200, `/readyz` 503
 * `{"status":"starting","reason":"startup preload in progress"}` while preloading, `/version`
 * `{"version":"v…"}`, `/.well-known/localai.json`, `/v1/models` without `owned_by`/`created`,
 * `/v1/models/capabilities` (2026-07+), `/system`, `GET /` redirecting to the web UI, errors
 * `{"error":{"code","message","type"}}`, an empty `model` served by the first model, lazy
 * loading per request, `X-Correlation-ID`, a stream with a role chunk, an empty-delta finish
 * chunk, a `choices: []` usage trailer only with `include_usage` (older builds: zero usage on
 * every chunk), and a mid-stream failure sent as content `"Internal error: …"` then `[DONE]`.
 */
import {
  admit,
  CREATED,
  delay,
  json,
  newStats,
  options,
  pacedStream,
  parseBody,
  pieces,
  promptTokens,
  record,
  serve,
  sse,
  toModels,
} from "./common.ts"
import type { Emulator, EmulatorModel, EmulatorOptions, Faults } from "./types.ts"

export interface LocalaiOptions extends EmulatorOptions {
  /** Startup preload in progress: `/readyz` answers 503 until `finishLoading()`. */
  loading?: boolean
  /** Time a model with `loaded: false` takes to load on its first request, ms (default 0). */
  loadMs?: number
  /** Builds before the #8546 fix: zero `usage` on every chunk, `include_usage` ignored. */
  legacyUsage?: boolean
  /** Serve `/v1/models/capabilities` (added 2026-07). Default true. */
  capabilitiesRoute?: boolean
}

export interface LocalaiEmulator extends Emulator {
  finishLoading(): void
}

const DEFAULT_MODELS = ["qwen3-8b"]

function capabilitiesOf(m: EmulatorModel): string[] {
  return m.capabilities ?? (/embed/i.test(m.id) ? ["embeddings"] : ["chat", "completion", "tools"])
}

export async function startLocalai(opts: LocalaiOptions = {}): Promise<LocalaiEmulator> {
  const o = options(opts)
  const state: { stats: ReturnType<typeof newStats>; faults: Faults; models: EmulatorModel[]; crash?: () => void } = {
    stats: newStats(),
    faults: {},
    models: toModels(opts.models, DEFAULT_MODELS),
  }
  const version = opts.version ?? "v3.9.0"
  let loading = opts.loading ?? false
  const warm = new Set<string>()
  const error = (code: number, message: string, type?: string, headers: Record<string, string> = {}) =>
    json({ error: { code, message, ...(type ? { type } : {}) } }, { status: code, headers })

  async function generate(req: Request, path: string): Promise<Response> {
    const text = await record(state.stats, req, path)
    const body = parseBody(text)
    if (!body) return error(400, "failed reading parameters from request: invalid character 'x' looking for beginning of value")
    const name = typeof body.model === "string" && body.model ? body.model : state.models[0]?.id ?? ""
    const m = state.models.find((x) => x.id === name)
    if (!m) return error(404, `model "${name}" not found. To see available models, call GET /v1/models`, "invalid_request_error")
    const faults = state.faults
    // Lazy loading: the first request for a model waits while it loads.
    const admitted = await admit(state, req, text, o.latencyMs, async (signal) => {
      if (m.loaded === false && !warm.has(m.id)) await delay(opts.loadMs ?? 0, signal)
      warm.add(m.id)
    })
    if (!admitted.ok) {
      const status = admitted.status
      if (!status) return new Response(null, { status: 499 })
      return error(status, status === 429 ? "Too many requests" : `Emulated failure ${status}`, undefined, faults.retryAfter ? { "retry-after": String(faults.retryAfter) } : {})
    }
    const { track } = admitted
    const id = crypto.randomUUID()
    const headers = { "x-correlation-id": req.headers.get("x-correlation-id")?.trim() || id }
    const parts = pieces(o.reply, o.chunks)
    const prompt = promptTokens(body)
    const usage = { prompt_tokens: prompt, completion_tokens: parts.length, total_tokens: prompt + parts.length }
    if (path.endsWith("/embeddings")) {
      track.done()
      return json({ created: CREATED, object: "list", id, model: name, data: [{ embedding: [0.0123, -0.0456, 0.0789], index: 0, object: "embedding" }], usage: { prompt_tokens: prompt, completion_tokens: 0, total_tokens: prompt } }, { gzip: faults.gzip, headers })
    }
    const chat = path.endsWith("/chat/completions")
    if (body.stream !== true) {
      track.done()
      const choice = chat ? { index: 0, finish_reason: "stop", message: { role: "assistant", content: o.reply } } : { index: 0, finish_reason: "stop", text: o.reply }
      return json({ created: CREATED, object: chat ? "chat.completion" : "text_completion", id, model: name, choices: [choice], usage }, { gzip: faults.gzip, headers })
    }
    const object = chat ? "chat.completion.chunk" : "text_completion"
    const zero = opts.legacyUsage ? { usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } } : {}
    const chunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = zero) => sse({ created: CREATED, object, id, model: name, choices: [{ index: 0, ...choice }], ...extra })
    const content = (p: string) => (chat ? { delta: { content: p } } : { text: p })
    const events: string[] = []
    if (chat) events.push(chunk({ finish_reason: null, delta: { role: "assistant", content: "" } }))
    for (const p of parts) events.push(chunk({ finish_reason: null, ...content(p) }))
    if (opts.legacyUsage) events.push(chunk({ finish_reason: "stop", ...content("") }, { usage }))
    else {
      events.push(chunk({ finish_reason: "stop", ...(chat ? { delta: {} } : { text: "" }) }))
      const so = body.stream_options as { include_usage?: boolean } | undefined
      if (so?.include_usage) events.push(sse({ id, created: CREATED, model: name, object, choices: [], usage }))
    }
    events.push("data: [DONE]\n\n")
    // LocalAI reports a backend failure mid-stream as assistant text, finish "stop", then [DONE].
    const errorEvents = [chunk({ finish_reason: "stop", ...content("Internal error: rpc error: code = Unavailable desc = error reading from server: EOF") }, { usage }), "data: [DONE]\n\n"]
    return new Response(pacedStream({ events, contentStart: chat ? 1 : 0, errorEvents }, { chunkDelayMs: o.chunkDelayMs, faults, track, crash: state.crash }), {
      headers: { ...headers, "content-type": "text/event-stream", "cache-control": "no-cache" },
    })
  }

  const emu = serve("localai", o, state, DEFAULT_MODELS, async (req) => {
    const url = new URL(req.url)
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname
    const hs = state.faults.healthStatus
    if (path === "/healthz") {
      await record(state.stats, req, path)
      return new Response(null, { status: hs ?? 200 })
    }
    if (path === "/readyz") {
      await record(state.stats, req, path)
      if (loading || hs === 503) return json({ status: "starting", reason: "startup preload in progress" }, { status: 503 })
      return new Response(null, { status: hs ?? 200 })
    }
    if (path === "/version") return json({ version })
    if (path === "/.well-known/localai.json") {
      const openai = { models: "/v1/models", chat_completions: "/v1/chat/completions", completions: "/v1/completions", embeddings: "/v1/embeddings" }
      return json({ version, endpoints: { ...openai, swagger: "/swagger/index.html" }, endpoint_groups: { openai_compatible: openai, monitoring: { metrics: "/metrics", system: "/system", version: "/version" } }, capabilities: { mcp: true, agents: false, p2p: false, tracing: true } })
    }
    if (opts.apiKey && req.headers.get("authorization") !== `Bearer ${opts.apiKey}` && req.headers.get("x-api-key") !== opts.apiKey) {
      return error(401, "An authentication key is required", "invalid_request_error")
    }
    if ((path === "/v1/models" || path === "/models") && req.method === "GET") {
      await record(state.stats, req, path)
      if (hs) return error(hs, `Emulated failure ${hs}`)
      return json({ object: "list", data: state.models.map((m) => ({ id: m.id, object: "model" })) })
    }
    if (path === "/v1/models/capabilities" && opts.capabilitiesRoute !== false) {
      return json({
        object: "list",
        data: state.models.map((m) => {
          const caps = capabilitiesOf(m)
          return { id: m.id, object: "model", capabilities: caps, input_modalities: caps.includes("vision") ? ["text", "image"] : ["text"], output_modalities: caps.includes("embeddings") ? [] : ["text"] }
        }),
      })
    }
    if (path === "/system") return json({ backends: ["llama-cpp"], loaded_models: state.models.filter((m) => m.loaded !== false || warm.has(m.id)).map((m) => ({ id: m.id, backend: "llama-cpp" })) })
    const gen = ["/v1/chat/completions", "/chat/completions", "/v1/completions", "/completions", "/v1/embeddings", "/embeddings"]
    if (gen.includes(path) && req.method === "POST") return generate(req, path)
    if (path === "/" && req.method === "GET") return new Response(null, { status: 301, headers: { location: "/app" } })
    if (path === "/app") return new Response("<!doctype html><title>LocalAI</title><div id=root></div>", { headers: { "content-type": "text/html; charset=UTF-8" } })
    return error(404, "Resource not found")
  })
  return Object.assign(emu, {
    finishLoading() {
      loading = false
    },
  })
}
