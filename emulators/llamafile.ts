/**
 * llamafile (`llama.cpp/server/server.cpp` + `oai.h` for the legacy
 * server, `llamafile/server/*.cpp` for v2). Legacy (`legacy: true`, a 2024 llama.cpp fork):
 * `Server: llama.cpp`, `/health` `{"status":"ok","slots_idle":…,"slots_processing":…}` or 503
 * `{"status": "loading model"}`, one model `owned_by: "llamacpp"`, a new `id` on every chunk, a
 * role-only first delta, no usage and NO `data: [DONE]` in streams, a mid-stream error as the
 * SSE field `error: {"content":"…"}`, plain-text errors. v2 (default, "llamafiler"):
 * `Server: llamafile/0.9.3`, no `/health` (404), `owned_by: "llamafile"`, plain-text errors
 * (`400 OpenAI tools field not supported`), chunks labelled `"object":"chat.completion"` with an
 * `x_prefill_progress` chunk first, usage on the finish chunk when asked, then `[DONE]`.
 */
import { admit, CREATED, createState, json, parseBody, randomId, record, retryAfter, serve, streamResponse, type Track } from "./common.ts"
import { chatStream, promptTokens, sse, turn, type Turn } from "./generate.ts"
import type { Emulator, EmulatorOptions } from "./types.ts"

export interface LlamafileOptions extends EmulatorOptions {
  /** The default (2024 llama.cpp fork) server instead of the v2 server. */
  legacy?: boolean
  /** Legacy only: still loading — 503 `{"status": "loading model"}` until `finishLoading()`. */
  loading?: boolean
  /** Legacy only: parallel slots (`-np`, default 1), reported by `/health` and `/slots`. */
  slots?: number
  /** Legacy only: send `Server: llama.cpp` as the fork does (default true). */
  serverHeader?: boolean
  /** Context size (default 8192). */
  nCtx?: number
}

export interface LlamafileEmulator extends Emulator {
  setLoading(loading: boolean): void
  finishLoading(): void
}

const UNSUPPORTED = ["n", "tools", "audio", "logprobs", "functions", "modalities", "tool_choice", "top_logprobs", "function_call", "parallel_tool_calls"]
const REASONS: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable" }

export async function startLlamafile(opts: LlamafileOptions = {}): Promise<LlamafileEmulator> {
  const legacy = opts.legacy ?? false
  const defaults = [legacy ? "Meta-Llama-3.1-8B-Instruct.Q4_K_M.gguf" : "Meta-Llama-3.1-8B-Instruct.Q4_K_M"]
  const state = createState(opts, defaults)
  state.loading = legacy && (opts.loading ?? false)
  const slots = opts.slots ?? 1
  const nCtx = opts.nCtx ?? 8192
  const fingerprint = "llamafile-0.9.3"
  const text = (status: number, body: string, headers: Record<string, string> = {}) => new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8", ...headers } })
  /** v2's send_error: the reason phrase (or message) plus CRLF, as plain text. */
  const v2Error = (status: number, reason = REASONS[status] ?? "Error", headers: Record<string, string> = {}) => text(status, `${reason}\r\n`, headers)
  const loadingBody = () => new Response('{"status": "loading model"}', { status: 503, headers: { "content-type": "application/json" } })
  const modelId = () => state.models[0]?.id ?? defaults[0]!

  async function chat(req: Request, path: string): Promise<Response> {
    const raw = await record(state.stats, req, path)
    if (legacy && opts.apiKey && req.headers.get("authorization") !== `Bearer ${opts.apiKey}`) return text(401, "Unauthorized: Invalid API Key")
    const body = parseBody(raw)
    if (!legacy) {
      if (!(req.headers.get("content-type") ?? "").includes("application/json")) return v2Error(501, "Content Type Not Implemented")
      if (!body) return v2Error(400, "JSON body must be an object")
      const bad = UNSUPPORTED.find((k) => body[k] !== undefined && body[k] !== null)
      if (bad) return v2Error(400, bad === "parallel_tool_calls" ? "parallel_tool_calls field not supported" : `OpenAI ${bad} field not supported`)
      if (typeof body.model !== "string") return v2Error(400, "JSON missing model string")
      if (!Array.isArray(body.messages)) return v2Error(400, "JSON missing messages array")
    } else if (!body) return text(500, "500 Internal Server Error\n[json.exception.parse_error.101] parse error at line 1, column 1: syntax error while parsing value - invalid literal; last read: 'x'")
    const model = typeof body.model === "string" ? body.model : "unknown"
    const onFault = (status: number, faults: typeof state.faults) => (legacy ? text(status, `emulated failure ${status}`, retryAfter(faults)) : v2Error(status, undefined, retryAfter(faults)))
    const track = await admit(state, req, raw, onFault)
    if (track instanceof Response) return track
    // Neither server ever answers with tool calls: v2 refuses `tools`, the old fork ignores it.
    const t = turn(state, body, false)
    const usage = { completion_tokens: t.completion, prompt_tokens: t.prompt, total_tokens: t.prompt + t.completion }
    const stream = body.stream === true
    if (legacy) return legacyChat(t, { model, usage, stream, track })
    const id = `chatcmpl-${randomId(24, "abcdefghijklmnopqrstuvwxyz012345")}`
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true
    const base = { created: CREATED, id, model, object: "chat.completion", system_fingerprint: fingerprint }
    if (!stream) {
      track.done()
      const doc = { choices: [{ finish_reason: t.finish, index: 0, logprobs: null, message: { content: t.reply, role: "assistant" } }], ...base, usage, x_prefill_progress: null }
      const pretty = `${JSON.stringify(doc, null, 2)}\n`
      const headers: Record<string, string> = { "content-type": "application/json" }
      if (state.faults.gzip) return new Response(Bun.gzipSync(new TextEncoder().encode(pretty)), { headers: { ...headers, "content-encoding": "gzip" } })
      return new Response(pretty, { headers })
    }
    const nullUsage = includeUsage ? { usage: null } : {}
    const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = nullUsage) => sse({ choices: [{ delta, finish_reason: finish, index: 0, logprobs: null }], ...base, ...extra })
    const { events, contentStart } = chatStream(t, {
      frame: (delta, finish) => (finish ? chunk(delta, finish, includeUsage ? { usage } : {}) : chunk(delta, null)),
      lead: [chunk({ content: "", role: "assistant" }, null, { ...nullUsage, x_prefill_progress: 0.5 }), chunk({ content: "", role: "assistant" }, null)],
      finish: { content: "" },
    })
    // llamafiler has no mid-stream error event: a failing slot just ends the response.
    return streamResponse(state, track, { events, contentStart, errorEvents: [] }, { "content-type": "text/event-stream" })
  }

  function legacyChat(t: Turn, r: { model: string; usage: Record<string, number>; stream: boolean; track: Track }): Response {
    const id = () => `chatcmpl-${randomId(32, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")}`
    if (!r.stream) {
      r.track.done()
      const doc = { choices: [{ finish_reason: t.finish, index: 0, message: { content: t.reply, role: "assistant" } }], created: CREATED, id: id(), model: r.model, object: "chat.completion", usage: r.usage }
      return json(doc, { gzip: state.faults.gzip, headers: { "content-type": "application/json; charset=utf-8" } })
    }
    // A new id on every chunk, no usage and no `data: [DONE]`: the chunked body just ends after the finish chunk.
    const chunk = (delta: Record<string, unknown>, finish: string | null) => sse({ choices: [{ delta, finish_reason: finish, index: 0 }], created: CREATED, id: id(), model: r.model, object: "chat.completion.chunk" })
    const { events, contentStart } = chatStream(t, { frame: chunk, lead: [chunk({ role: "assistant" }, null)], done: false })
    const errorEvents = [`error: ${JSON.stringify({ content: "llama_decode failed: emulated slot failure" })}\n\n`]
    return streamResponse(state, r.track, { events, contentStart, errorEvents }, { "content-type": "text/event-stream" })
  }

  async function route(req: Request): Promise<Response> {
    const url = new URL(req.url)
    const path = url.pathname
    const hs = state.faults.healthStatus
    if (legacy && state.loading && path !== "/") return loadingBody()
    if (legacy && path === "/health") {
      await record(state.stats, req, path)
      if (hs === 503) return loadingBody()
      if (hs) return json({ status: "error", error: "Model failed to load" }, { status: hs })
      const busy = Math.min(state.stats.inFlight, slots)
      const health = { status: busy >= slots ? "no slot available" : "ok", slots_idle: slots - busy, slots_processing: busy }
      return json(health, { status: busy >= slots && url.searchParams.has("fail_on_no_slot") ? 503 : 200 })
    }
    if (path === "/v1/models" && req.method === "GET") {
      await record(state.stats, req, path)
      if (hs) return legacy ? text(hs, `emulated failure ${hs}`) : v2Error(hs)
      const data = [{ id: modelId(), object: "model", created: CREATED, owned_by: legacy ? "llamacpp" : "llamafile" }]
      return legacy ? json({ data, object: "list" }, { headers: { "content-type": "application/json; charset=utf-8" } }) : json({ object: "list", data })
    }
    if (path === "/v1/chat/completions") {
      if (req.method === "POST") return chat(req, path)
      if (!legacy) return v2Error(405)
    }
    if (path === "/v1/embeddings" && req.method === "POST") {
      const body = parseBody(await record(state.stats, req, path)) ?? {}
      const data = [{ embedding: [0.0123, -0.0456, 0.0789], index: 0, object: "embedding" }]
      if (legacy) return json({ data, model: body.model ?? "gpt-3.5-turbo-0613", object: "list", usage: { prompt_tokens: 0, total_tokens: 0 } }, { headers: { "content-type": "application/json; charset=utf-8" } })
      return json({ object: "list", model: modelId(), data, usage: { prompt_tokens: promptTokens({ prompt: String(body.input ?? "") }), total_tokens: promptTokens({ prompt: String(body.input ?? "") }) } })
    }
    if (!legacy && path === "/v1/completions" && req.method === "POST") {
      const body = parseBody(await record(state.stats, req, path)) ?? {}
      const prompt = promptTokens(body)
      return json({ choices: [{ finish_reason: "stop", index: 0, logprobs: null, text: state.reply }], created: CREATED, id: `cmpl-${randomId(24, "abcdefghijklmnopqrstuvwxyz012345")}`, model: String(body.model ?? modelId()), object: "text_completion", system_fingerprint: fingerprint, usage: { completion_tokens: state.chunks, prompt_tokens: prompt, total_tokens: prompt + state.chunks } })
    }
    if (legacy && path === "/props") return json({ user_name: "User", assistant_name: "Llama", default_generation_settings: { n_ctx: nCtx, model: modelId(), stream: true }, total_slots: slots }, { headers: { "content-type": "application/json; charset=utf-8" } })
    if (legacy && path === "/slots") {
      const busy = Math.min(state.stats.inFlight, slots)
      return json(Array.from({ length: slots }, (_, id) => ({ id, n_ctx: Math.floor(nCtx / slots), model: modelId(), state: id < busy ? 1 : 0 })))
    }
    if (!legacy && path === "/slotz") return json(Array.from({ length: 1 }, (_, id) => ({ id, ctx_size: nCtx, busy: state.stats.inFlight > 0 })))
    if (!legacy && path === "/flagz") return json({ model: modelId(), ctx_size: nCtx, temperature: 0.8, top_p: 0.95, presence_penalty: 0, frequency_penalty: 0, seed: null, nologo: false })
    if (path === "/" && req.method === "GET") return new Response("<!doctype html><title>llamafile</title>", { headers: { "content-type": "text/html" } })
    return legacy ? text(404, "File Not Found") : v2Error(404)
  }

  const signature: Record<string, string> = legacy
    ? opts.serverHeader !== false ? { server: "llama.cpp" } : {}
    : { server: "llamafile/0.9.3", "referrer-policy": "origin", "cache-control": "private; max-age=0" }
  const emu = serve("llamafile", opts, state, defaults, route, { headers: signature })
  return Object.assign(emu, {
    setLoading(value: boolean) {
      state.loading = legacy && value
    },
    finishLoading() {
      state.loading = false
    },
  })
}
