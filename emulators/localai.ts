/**
 * LocalAI (`core/http/routes/health.go`, `localai.go`,
 * `endpoints/openai/chat.go`, `chat_emit.go`): `/healthz` empty 200, `/readyz` 503
 * `{"status":"starting","reason":"startup preload in progress"}` while preloading, `/version`
 * `{"version":"v…"}`, `/.well-known/localai.json`, `/v1/models` without `owned_by`/`created`,
 * `/v1/models/capabilities` (2026-07+), `/system`, `GET /` redirecting to the web UI, errors
 * `{"error":{"code","message","type"}}`, an empty `model` served by the first model, lazy
 * loading per request, `X-Correlation-ID`, a stream with a role chunk, an empty-delta finish
 * chunk, a `choices: []` usage trailer only with `include_usage` (older builds: zero usage on
 * every chunk), and a mid-stream failure sent as content `"Internal error: …"` then `[DONE]`.
 */
import { admit, CREATED, createState, delay, isLoaded, json, parseBody, record, retryAfter, serve, streamResponse, type Track } from "./common.ts"
import { chatStream, message, sse, turn, usage, type Turn } from "./generate.ts"
import type { Emulator, EmulatorModel, EmulatorOptions } from "./types.ts"

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
  const state = createState(opts, DEFAULT_MODELS)
  state.loading = opts.loading ?? false
  const version = opts.version ?? "v3.9.0"
  const error = (code: number, message: string, type?: string, headers: Record<string, string> = {}) =>
    json({ error: { code, message, ...(type ? { type } : {}) } }, { status: code, headers })

  async function generate(req: Request, path: string): Promise<Response> {
    const text = await record(state.stats, req, path)
    const body = parseBody(text)
    if (!body) return error(400, "failed reading parameters from request: invalid character 'x' looking for beginning of value")
    const name = typeof body.model === "string" && body.model ? body.model : state.models[0]?.id ?? ""
    const m = state.models.find((x) => x.id === name)
    if (!m) return error(404, `model "${name}" not found. To see available models, call GET /v1/models`, "invalid_request_error")
    const onFault = (status: number, faults: typeof state.faults) => error(status, status === 429 ? "Too many requests" : `Emulated failure ${status}`, undefined, retryAfter(faults))
    // Lazy loading: the first request for a model waits while it loads.
    const track = await admit(state, req, text, onFault, async (signal) => {
      if (!isLoaded(state, m)) await delay(opts.loadMs ?? 0, signal)
      state.loaded.set(m.id, true)
    })
    if (track instanceof Response) return track
    const id = crypto.randomUUID()
    const headers = { "x-correlation-id": req.headers.get("x-correlation-id")?.trim() || id }
    const t = turn(state, body)
    const gzip = state.faults.gzip
    if (path.endsWith("/embeddings")) {
      track.done()
      return json({ created: CREATED, object: "list", id, model: name, data: [{ embedding: [0.0123, -0.0456, 0.0789], index: 0, object: "embedding" }], usage: { prompt_tokens: t.prompt, completion_tokens: 0, total_tokens: t.prompt } }, { gzip, headers })
    }
    const chat = path.endsWith("/chat/completions")
    const object = chat ? "chat.completion" : "text_completion"
    if (body.stream !== true) {
      track.done()
      const choice = chat ? { index: 0, finish_reason: t.finish, message: message(t) } : { index: 0, finish_reason: t.finish, text: t.reply }
      return json({ created: CREATED, object, id, model: name, choices: [choice], usage: usage(t) }, { gzip, headers })
    }
    return stream(t, { id, name, chat, so: body.stream_options as { include_usage?: boolean } | undefined, track, headers })
  }

  function stream(t: Turn, r: { id: string; name: string; chat: boolean; so?: { include_usage?: boolean }; track: Track; headers: Record<string, string> }): Response {
    const object = r.chat ? "chat.completion.chunk" : "text_completion"
    const zero = opts.legacyUsage ? { usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } } : {}
    const chunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = zero) => sse({ created: CREATED, object, id: r.id, model: r.name, choices: [{ index: 0, ...choice }], ...extra })
    const content = (delta: Record<string, unknown>) => (r.chat ? { delta } : { text: delta.content ?? "" })
    const { events, contentStart } = chatStream(t, {
      // Builds before the #8546 fix bill the whole turn on the finish chunk, zero on the others.
      frame: (delta, finish) => chunk({ finish_reason: finish, ...content(delta) }, finish && opts.legacyUsage ? { usage: usage(t) } : zero),
      lead: r.chat ? [chunk({ finish_reason: null, delta: { role: "assistant", content: "" } })] : [],
      finish: opts.legacyUsage ? { content: "" } : {},
      tail: !opts.legacyUsage && r.so?.include_usage ? [sse({ id: r.id, created: CREATED, model: r.name, object, choices: [], usage: usage(t) })] : [],
    })
    // LocalAI reports a backend failure mid-stream as assistant text, finish "stop", then [DONE].
    const errorEvents = [chunk({ finish_reason: "stop", ...content({ content: "Internal error: rpc error: code = Unavailable desc = error reading from server: EOF" }) }, { usage: usage(t) }), "data: [DONE]\n\n"]
    return streamResponse(state, r.track, { events, contentStart, errorEvents }, { ...r.headers, "content-type": "text/event-stream", "cache-control": "no-cache" })
  }

  const emu = serve("localai", opts, state, DEFAULT_MODELS, async (req) => {
    const url = new URL(req.url)
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname
    const hs = state.faults.healthStatus
    if (path === "/healthz") {
      await record(state.stats, req, path)
      return new Response(null, { status: hs ?? 200 })
    }
    if (path === "/readyz") {
      await record(state.stats, req, path)
      if (state.loading || hs === 503) return json({ status: "starting", reason: "startup preload in progress" }, { status: 503 })
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
    if (path === "/system") return json({ backends: ["llama-cpp"], loaded_models: state.models.filter((m) => isLoaded(state, m)).map((m) => ({ id: m.id, backend: "llama-cpp" })) })
    const gen = ["/v1/chat/completions", "/chat/completions", "/v1/completions", "/completions", "/v1/embeddings", "/embeddings"]
    if (gen.includes(path) && req.method === "POST") return generate(req, path)
    if (path === "/" && req.method === "GET") return new Response(null, { status: 301, headers: { location: "/app" } })
    if (path === "/app") return new Response("<!doctype html><title>LocalAI</title><div id=root></div>", { headers: { "content-type": "text/html; charset=UTF-8" } })
    return error(404, "Resource not found")
  })
  return Object.assign(emu, {
    finishLoading() {
      state.loading = false
    },
  })
}
