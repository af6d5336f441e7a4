/**
 * Ollama (reference/backends.md §2): native `/`, `/api/version`, `/api/tags`,
 * `/api/show`, `/api/ps`, NDJSON `/api/chat`, and its OpenAI layer under `/v1` with
 * the v0.32.6+ stream shape (or the older one), `"data": null` when it has no models,
 * and a 403 with an empty body for a Host header it does not accept.
 */
import {
  admit,
  CREATED,
  delay,
  inFlight,
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

export interface OllamaOptions extends EmulatorOptions {
  /** Pre-0.32.6 stream shape: role in every delta, finish on the last content chunk. */
  legacyStream?: boolean
  /** 403 for a Host that is not loopback, private or local (default true). */
  hostCheck?: boolean
  /** v0.30+ `capabilities` and `details.context_length` in /api/tags (default true). */
  withTagCapabilities?: boolean
}

const DEFAULT_MODELS = ["llama3.2:latest"]
const DIGEST = "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72"

/** Ollama's allow-list: loopback, private IPs, localhost and *.local/*.localhost/*.internal. */
export function hostAllowed(host: string | null): boolean {
  if (!host) return true
  const h = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "").toLowerCase()
  if (h === "localhost" || h === "::1" || /\.(local|localhost|internal)$/.test(h)) return true
  const m = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(h)
  if (!m) return false
  const a = Number(m[1])
  const b = Number(m[2])
  return a === 127 || a === 10 || (a === 192 && b === 168) || (a === 172 && b >= 16 && b <= 31)
}

function capabilitiesOf(m: EmulatorModel): string[] {
  return m.capabilities ?? (m.id.includes("embed") ? ["embedding"] : ["completion", "tools"])
}

export async function startOllama(opts: OllamaOptions = {}): Promise<Emulator> {
  const o = options(opts)
  const state: { stats: ReturnType<typeof newStats>; faults: Faults; models: ReturnType<typeof toModels>; crash?: () => void } = {
    stats: newStats(),
    faults: {},
    models: toModels(opts.models, DEFAULT_MODELS),
  }
  const find = (name: string) => state.models.find((m) => m.id === name || m.id === `${name}:latest`)

  function details(m: EmulatorModel, withCtx: boolean) {
    return {
      parent_model: "",
      format: "gguf",
      family: "llama",
      families: ["llama"],
      parameter_size: "3.2B",
      quantization_level: "Q4_K_M",
      ...(withCtx ? { context_length: m.contextLength ?? 131072, embedding_length: 3072 } : {}),
    }
  }

  function openaiError(status: number, message: string, headers: Record<string, string> = {}) {
    const type = status === 400 ? "invalid_request_error" : status === 404 ? "not_found_error" : "api_error"
    return json({ error: { message, type, param: null, code: null } }, { status, headers })
  }

  async function chatV1(req: Request, path: string): Promise<Response> {
    const text = await record(state.stats, req, path)
    const body = parseBody(text)
    if (!body) return openaiError(400, "invalid character 'x' looking for beginning of value")
    const name = String(body.model ?? "")
    if (!Array.isArray(body.messages) || body.messages.length === 0) return openaiError(400, "[] is too short - 'messages'")
    if (!find(name)) return openaiError(404, `model '${name}' not found`)
    const faults = state.faults
    const admitted = await admit(state, req, text, o.latencyMs)
    if (!admitted.ok) {
      const status = admitted.status
      if (!status) return new Response(null, { status: 499 })
      const headers: Record<string, string> = faults.retryAfter ? { "retry-after": String(faults.retryAfter) } : {}
      if (status === 503) return json({ error: "server busy, please try again.  maximum pending requests exceeded" }, { status, headers })
      return openaiError(status, `emulated failure ${status}`, headers)
    }
    const { track } = admitted
    const id = `chatcmpl-${Math.floor(Math.random() * 999)}`
    const parts = pieces(o.reply, o.chunks)
    const prompt = promptTokens(body)
    const usage = { prompt_tokens: prompt, completion_tokens: parts.length, total_tokens: prompt + parts.length }
    if (body.stream !== true) {
      track.done()
      return json(
        {
          id,
          object: "chat.completion",
          created: CREATED,
          model: name,
          system_fingerprint: "fp_ollama",
          choices: [{ index: 0, message: { role: "assistant", content: o.reply }, finish_reason: "stop" }],
          usage,
        },
        { gzip: faults.gzip }
      )
    }
    const base = { id, object: "chat.completion.chunk", created: CREATED, model: name, system_fingerprint: "fp_ollama" }
    const events: string[] = []
    if (opts.legacyStream) {
      parts.forEach((p) => events.push(sse({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: p }, finish_reason: null }] })))
      events.push(sse({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: "stop" }] }))
    } else {
      parts.forEach((p, i) =>
        events.push(sse({ ...base, choices: [{ index: 0, delta: i === 0 ? { role: "assistant", content: p } : { content: p }, finish_reason: null }] }))
      )
      events.push(sse({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }))
    }
    const so = body.stream_options as { include_usage?: boolean } | undefined
    if (so?.include_usage) events.push(sse({ ...base, choices: [], usage }))
    events.push("data: [DONE]\n\n")
    const errorEvents = [sse({ error: { message: "an error was encountered while running the model", type: "api_error", param: null, code: null } })]
    return new Response(pacedStream({ events, contentStart: 0, errorEvents }, { chunkDelayMs: o.chunkDelayMs, faults, track, crash: state.crash }), {
      headers: { "content-type": "text/event-stream" },
    })
  }

  async function chatNative(req: Request, path: string): Promise<Response> {
    const text = await record(state.stats, req, path)
    const body = parseBody(text)
    if (!body) return json({ error: "missing request body" }, { status: 400 })
    const name = String(body.model ?? "")
    if (!name) return json({ error: "model is required" }, { status: 400 })
    if (!find(name)) return json({ error: `model '${name}' not found` }, { status: 404 })
    const track = inFlight(state.stats, req, text)
    try {
      await delay(o.latencyMs, req.signal)
    } catch {
      return new Response(null, { status: 499 })
    }
    const parts = pieces(o.reply, o.chunks)
    const final = { model: name, created_at: "2025-08-21T19:22:45.499127Z", message: { role: "assistant", content: "" }, done_reason: "stop", done: true, total_duration: 4883583458, load_duration: 1334875, prompt_eval_count: promptTokens(body), prompt_eval_duration: 342546000, eval_count: parts.length, eval_duration: 4535599000 }
    if (body.stream === false) {
      track.done()
      return json({ ...final, message: { role: "assistant", content: o.reply } }, { headers: { "content-type": "application/json; charset=utf-8" } })
    }
    const events = parts.map((p) => `${JSON.stringify({ model: name, created_at: "2025-08-21T19:22:45.120212Z", message: { role: "assistant", content: p }, done: false })}\n`)
    events.push(`${JSON.stringify(final)}\n`)
    return new Response(
      pacedStream({ events, contentStart: 0, errorEvents: [`${JSON.stringify({ error: "an error was encountered while running the model" })}\n`] }, { chunkDelayMs: o.chunkDelayMs, faults: state.faults, track, crash: state.crash }),
      { headers: { "content-type": "application/x-ndjson" } }
    )
  }

  return serve("ollama", o, state, DEFAULT_MODELS, async (req) => {
    if (opts.hostCheck !== false && !hostAllowed(req.headers.get("host"))) return new Response(null, { status: 403 })
    const url = new URL(req.url)
    const path = url.pathname
    if (path === "/" && (req.method === "GET" || req.method === "HEAD")) {
      await record(state.stats, req, path)
      if (state.faults.healthStatus) return new Response("", { status: state.faults.healthStatus })
      return new Response("Ollama is running", { headers: { "content-type": "text/plain; charset=utf-8" } })
    }
    if (path === "/api/version") return json({ version: opts.version ?? "0.12.3" })
    if (path === "/api/tags") {
      await record(state.stats, req, path)
      if (state.faults.healthStatus) return json({ error: "unavailable" }, { status: state.faults.healthStatus })
      const withCaps = opts.withTagCapabilities !== false
      return json({
        models: state.models.map((m) => ({
          name: m.id,
          model: m.id,
          modified_at: "2025-05-04T17:37:44.706015396-07:00",
          size: 2019393189,
          digest: DIGEST,
          details: details(m, withCaps),
          ...(withCaps ? { capabilities: capabilitiesOf(m) } : {}),
        })),
      })
    }
    if (path === "/api/show" && req.method === "POST") {
      const body = parseBody(await record(state.stats, req, path)) ?? {}
      const name = String(body.model ?? body.name ?? "")
      const m = find(name)
      if (!m) return json({ error: `model '${name}' not found` }, { status: 404 })
      return json({
        license: "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT",
        modelfile: "# Modelfile generated by \"ollama show\"\nFROM /models/blob\n",
        parameters: "stop \"<|eot_id|>\"",
        template: "{{ .Prompt }}",
        details: details(m, false),
        model_info: { "general.architecture": "llama", "general.parameter_count": 3212749888, "llama.context_length": m.contextLength ?? 131072, "llama.embedding_length": 3072 },
        capabilities: capabilitiesOf(m),
        modified_at: "2025-05-04T17:37:44.706015396-07:00",
      })
    }
    if (path === "/api/ps") {
      await record(state.stats, req, path)
      return json({
        models: state.models
          .filter((m) => m.loaded !== false)
          .map((m) => ({ name: m.id, model: m.id, size: 3825819519, digest: DIGEST, details: details(m, false), expires_at: "2099-01-01T00:00:00Z", size_vram: 3825819519, context_length: 4096 })),
      })
    }
    if (path === "/api/chat" && req.method === "POST") return chatNative(req, path)
    if (path === "/api/embed" && req.method === "POST") {
      const body = parseBody(await record(state.stats, req, path)) ?? {}
      return json({ model: body.model, embeddings: [[0.01, -0.0017, 0.2]], total_duration: 14143917, load_duration: 1019500, prompt_eval_count: 8 })
    }
    if (path === "/v1/models") {
      await record(state.stats, req, path)
      // Ollama answers `"data": null`, not [], when it has no models.
      return json({ object: "list", data: state.models.length ? state.models.map((m) => ({ id: m.id, object: "model", created: CREATED, owned_by: m.id.includes("/") ? m.id.split("/")[0] : "library" })) : null })
    }
    if (path.startsWith("/v1/models/")) {
      const id = decodeURIComponent(path.slice("/v1/models/".length))
      const m = find(id)
      if (!m) return openaiError(404, `model '${id}' not found`)
      return json({ id, object: "model", created: CREATED, owned_by: "library" })
    }
    if (path === "/v1/chat/completions" && req.method === "POST") return chatV1(req, path)
    if (path === "/v1/embeddings" && req.method === "POST") {
      const body = parseBody(await record(state.stats, req, path)) ?? {}
      if (!find(String(body.model ?? ""))) return openaiError(404, `model '${String(body.model)}' not found`)
      return json({ object: "list", data: [{ object: "embedding", embedding: [0.01, -0.0017, 0.2], index: 0 }], model: body.model, usage: { prompt_tokens: 2, total_tokens: 2 } })
    }
    return new Response("404 page not found", { status: 404, headers: { "content-type": "text/plain" } })
  })
}
