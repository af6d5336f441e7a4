/**
 * Ollama: native `/`, `/api/version`, `/api/tags`,
 * `/api/show`, `/api/ps`, NDJSON `/api/chat`, and its OpenAI layer under `/v1` with
 * the v0.32.6+ stream shape (or the older one), `"data": null` when it has no models,
 * and a 403 with an empty body for a Host header it does not accept.
 */
import { admit, CREATED, createState, delay, inFlight, isLoaded, json, parseBody, record, retryAfter, serve, streamResponse } from "./common.ts"
import { chatStream, message, sse, thought, turn, usage } from "./generate.ts"
import { createFleetSim, holdWhile, keepAliveMs, type FleetSim } from "./fleet.ts"
import type { Emulator, EmulatorModel, EmulatorOptions } from "./types.ts"

export interface OllamaOptions extends EmulatorOptions {
  /** Pre-0.32.6 stream shape: role in every delta, finish on the last content chunk. */
  legacyStream?: boolean
  /** 403 for a Host that is not loopback, private or local (default true). */
  hostCheck?: boolean
  /** v0.30+ `capabilities` and `details.context_length` in /api/tags (default true). */
  withTagCapabilities?: boolean
}

export interface OllamaEmulator extends Emulator {
  /** The residency simulation, when started with `fleet` options. */
  fleet?: FleetSim
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

export async function startOllama(opts: OllamaOptions = {}): Promise<OllamaEmulator> {
  const state = createState(opts, DEFAULT_MODELS)
  const find = (name: string) => state.models.find((m) => m.id === name || m.id === `${name}:latest`)
  const sim = opts.fleet ? createFleetSim(state, opts.fleet) : undefined
  /** A request loads its model first (and waits for a load in progress). */
  const warmUp = (id: string, body: Record<string, unknown>) => (sim ? () => sim.ensure(id, keepAliveMs(body.keep_alive), true) : undefined)

  async function chatV1(req: Request, path: string): Promise<Response> {
    const text = await record(state.stats, req, path)
    const body = parseBody(text)
    if (!body) return openaiError(400, "invalid character 'x' looking for beginning of value")
    const name = String(body.model ?? "")
    if (!Array.isArray(body.messages) || body.messages.length === 0) return openaiError(400, "[] is too short - 'messages'")
    const found = find(name)
    if (!found) return openaiError(404, `model '${name}' not found`)
    const track = await admit(
      state,
      req,
      text,
      (status, faults) =>
        status === 503
          ? json({ error: "server busy, please try again.  maximum pending requests exceeded" }, { status, headers: retryAfter(faults) })
          : openaiError(status, `emulated failure ${status}`, retryAfter(faults)),
      warmUp(found.id, body)
    )
    if (track instanceof Response) return track
    if (sim) holdWhile(sim, found.id, track)
    const id = `chatcmpl-${Math.floor(Math.random() * 999)}`
    // The OpenAI layer reads `reasoning_effort` as `think`; "none" switches it off.
    const t = thought(state, turn(state, body), body.reasoning_effort !== "none")
    if (body.stream !== true) {
      track.done()
      return json(
        { id, object: "chat.completion", created: CREATED, model: name, system_fingerprint: "fp_ollama", choices: [{ index: 0, message: message(t, "reasoning"), finish_reason: t.finish }], usage: usage(t) },
        { gzip: state.faults.gzip }
      )
    }
    const base = { id, object: "chat.completion.chunk", created: CREATED, model: name, system_fingerprint: "fp_ollama" }
    const frame = (delta: Record<string, unknown>, finish: string | null) => sse({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })
    const so = body.stream_options as { include_usage?: boolean } | undefined
    const tail = so?.include_usage ? [sse({ ...base, choices: [], usage: usage(t) })] : []
    const { events, contentStart } = opts.legacyStream
      ? chatStream(t, { frame, role: "every", finish: { role: "assistant", content: "" }, tail, reasoningKey: "reasoning" })
      : chatStream(t, { frame, role: "first", tail, reasoningKey: "reasoning" })
    const errorEvents = [sse({ error: { message: "an error was encountered while running the model", type: "api_error", param: null, code: null } })]
    return streamResponse(state, track, { events, contentStart, errorEvents }, { "content-type": "text/event-stream" })
  }

  async function chatNative(req: Request, path: string): Promise<Response> {
    const text = await record(state.stats, req, path)
    const body = parseBody(text)
    if (!body) return json({ error: "missing request body" }, { status: 400 })
    const name = String(body.model ?? "")
    if (!name) return json({ error: "model is required" }, { status: 400 })
    const found = find(name)
    if (!found) return json({ error: `model '${name}' not found` }, { status: 404 })
    // /api/generate says `response` where /api/chat says `message`.
    const generate = path === "/api/generate"
    const empty = generate ? { response: "" } : { message: { role: "assistant", content: "" } }
    if (sim && (generate ? !body.prompt : Array.isArray(body.messages) && body.messages.length === 0)) return lifecycle(found.id, name, body, empty)
    const track = inFlight(state.stats, req, text)
    try {
      await warmUp(found.id, body)?.()
      await delay(state.latencyMs, req.signal)
    } catch {
      return new Response(null, { status: 499 })
    }
    if (sim) holdWhile(sim, found.id, track)
    const t = turn(state, body)
    const final = { model: name, created_at: "2025-08-21T19:22:45.499127Z", ...empty, done_reason: "stop", done: true, total_duration: 4883583458, load_duration: 1334875, prompt_eval_count: t.prompt, prompt_eval_duration: 342546000, eval_count: t.completion, eval_duration: 4535599000 }
    if (body.stream === false) {
      track.done()
      return json({ ...final, ...(generate ? { response: t.reply } : { message: message(t) }) }, { headers: { "content-type": "application/json; charset=utf-8" } })
    }
    const line = (msg: Record<string, unknown>) =>
      `${JSON.stringify({ model: name, created_at: "2025-08-21T19:22:45.120212Z", ...(generate ? { response: msg.content } : { message: { role: "assistant", ...msg } }), done: false })}\n`
    // Native tool calls come whole in one chunk, their arguments an object, not JSON text.
    const events = t.calls.length && !generate
      ? [line({ content: "", tool_calls: t.calls.map((c, index) => ({ id: c.id, function: { index, name: c.name, arguments: JSON.parse(c.arguments) } })) })]
      : t.parts.map((p) => line({ content: p }))
    events.push(`${JSON.stringify(final)}\n`)
    const errorEvents = [`${JSON.stringify({ error: "an error was encountered while running the model" })}\n`]
    return streamResponse(state, track, { events, contentStart: 0, errorEvents }, { "content-type": "application/x-ndjson" })
  }

  /** No prompt: load the model (`keep_alive` 0: unload it) and say so (done_reason load / unload). */
  async function lifecycle(id: string, name: string, body: Record<string, unknown>, empty: Record<string, unknown>): Promise<Response> {
    const keep = keepAliveMs(body.keep_alive)
    if (keep === 0) sim!.unload(id)
    else await sim!.ensure(id, keep)
    return json({ model: name, created_at: "2025-08-21T19:22:45.499127Z", ...empty, done_reason: keep === 0 ? "unload" : "load", done: true })
  }

  function show(body: Record<string, unknown>): Response {
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

  async function native(req: Request, path: string): Promise<Response | undefined> {
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
      const tag = (m: EmulatorModel) => ({ name: m.id, model: m.id, modified_at: "2025-05-04T17:37:44.706015396-07:00", size: m.sizeBytes ?? 2019393189, digest: DIGEST, details: details(m, withCaps), ...(withCaps ? { capabilities: capabilitiesOf(m) } : {}) })
      return json({ models: state.models.map(tag) })
    }
    if (path === "/api/show" && req.method === "POST") return show(parseBody(await record(state.stats, req, path)) ?? {})
    if (path === "/api/ps") {
      await record(state.stats, req, path)
      const running = (m: EmulatorModel, bytes = 3825819519, expires = "2099-01-01T00:00:00Z") => ({ name: m.id, model: m.id, size: bytes, digest: DIGEST, details: details(m, false), expires_at: expires, size_vram: bytes, context_length: 4096 })
      if (sim) return json({ models: sim.resident().map((r) => running(r.model, r.bytes, new Date(r.expiresAt ?? Date.parse("2099-01-01T00:00:00Z")).toISOString())) })
      return json({ models: state.models.filter((m) => isLoaded(state, m)).map((m) => running(m)) })
    }
    if ((path === "/api/chat" || path === "/api/generate") && req.method === "POST") return chatNative(req, path)
    if (path === "/api/embeddings" && req.method === "POST") {
      await record(state.stats, req, path)
      return json({ embedding: [0.01, -0.0017, 0.2] })
    }
    if (path === "/api/embed" && req.method === "POST") {
      const body = parseBody(await record(state.stats, req, path)) ?? {}
      const found = find(String(body.model ?? ""))
      if (found) await warmUp(found.id, body)?.()
      return json({ model: body.model, embeddings: [[0.01, -0.0017, 0.2]], total_duration: 14143917, load_duration: 1019500, prompt_eval_count: 8 })
    }
    return undefined
  }

  async function openaiLayer(req: Request, path: string): Promise<Response | undefined> {
    if (path === "/v1/models") {
      await record(state.stats, req, path)
      // Ollama answers `"data": null`, not [], when it has no models.
      return json({ object: "list", data: state.models.length ? state.models.map((m) => ({ id: m.id, object: "model", created: CREATED, owned_by: m.id.includes("/") ? m.id.split("/")[0] : "library" })) : null })
    }
    if (path.startsWith("/v1/models/")) {
      const id = decodeURIComponent(path.slice("/v1/models/".length))
      if (!find(id)) return openaiError(404, `model '${id}' not found`)
      return json({ id, object: "model", created: CREATED, owned_by: "library" })
    }
    if (path === "/v1/chat/completions" && req.method === "POST") return chatV1(req, path)
    if (path === "/v1/embeddings" && req.method === "POST") {
      const body = parseBody(await record(state.stats, req, path)) ?? {}
      const found = find(String(body.model ?? ""))
      if (!found) return openaiError(404, `model '${String(body.model)}' not found`)
      // An embedding model loads on first use like any other.
      await warmUp(found.id, body)?.()
      return json({ object: "list", data: [{ object: "embedding", embedding: [0.01, -0.0017, 0.2], index: 0 }], model: body.model, usage: { prompt_tokens: 2, total_tokens: 2 } })
    }
    return undefined
  }

  const emu = serve("ollama", opts, state, DEFAULT_MODELS, async (req) => {
    if (opts.hostCheck !== false && !hostAllowed(req.headers.get("host"))) return new Response(null, { status: 403 })
    const path = new URL(req.url).pathname
    const res = (await native(req, path)) ?? (await openaiLayer(req, path))
    return res ?? new Response("404 page not found", { status: 404, headers: { "content-type": "text/plain" } })
  })
  return Object.assign(emu, { fleet: sim })
}
