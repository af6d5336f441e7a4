/**
 * exo v1 (`src/exo/api/main.py`, `adapters/chat_completions.py`,
 * `keepalive.py`, `types/api.py`): port 52415, no health route, `/node_id` answers a JSON
 * string, `/v1/models` is the whole catalogue (`owned_by: "exo"`, `context_length`,
 * capability words), a model without a running instance answers `404 No instance found for
 * model X` in exo's `{"error":{message,type,param,code}}` envelope, `/place_instance`,
 * `/state`, `/ollama/api/*`. Streams start with the `: keep-alive` comment, label chunks
 * `"object":"chat.completion"` with `role` in every delta and pydantic's nulls, put `usage`
 * on the finish chunk whatever `stream_options` says, then a `: generation_stats` comment
 * and `data: [DONE]`; a mid-stream error is `data: {"error":…}` followed by `[DONE]`.
 */
import { admit, CREATED, createState, isLoaded, json, parseBody, record, retryAfter, serve, streamResponse } from "./common.ts"
import { chatStream, message, sse, turn, usage } from "./generate.ts"
import type { Emulator, EmulatorModel, EmulatorOptions } from "./types.ts"

export interface ExoOptions extends EmulatorOptions {
  /** `: keep-alive` comment lines before the first data chunk (exo sends one at once, then one per 10 s of silence). Default 1. */
  keepAlives?: number
  /** The node id `/node_id` returns. */
  nodeId?: string
}

export interface ExoEmulator extends Emulator {
  /** Start (or stop) an instance of a model: only placed models answer chat requests. */
  placeInstance(modelId: string): void
  deleteInstance(modelId: string): void
}

const DEFAULT_MODELS = ["mlx-community/Qwen3-0.6B-4bit"]
const PHRASES: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 408: "Request Timeout", 422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout" }
const DELTA_NULLS: Record<string, null> = { reasoning_content: null, name: null, tool_calls: null, tool_call_id: null, function_call: null }

/** pydantic's nulls for every field of a delta (or message) that it does not set. */
function withNulls(delta: Record<string, unknown>): Record<string, unknown> {
  const out = { ...delta }
  for (const [k, v] of Object.entries(DELTA_NULLS)) if (!(k in out)) out[k] = v
  return out
}

export async function startExo(opts: ExoOptions = {}): Promise<ExoEmulator> {
  const state = createState(opts, DEFAULT_MODELS)
  const nodeId = opts.nodeId ?? "12D3KooWLqx1Z7wJtVq9Dm4eHk2BfA8sXcN5yRuP3TgQ6oMvE1hC"
  const hasInstance = (m: EmulatorModel) => isLoaded(state, m)
  const error = (status: number, message: string, headers: Record<string, string> = {}) =>
    json({ error: { message, type: PHRASES[status] ?? "Error", param: null, code: status } }, { status, headers })

  function card(m: EmulatorModel) {
    const name = m.id.split("/").pop() ?? m.id
    return {
      id: m.id,
      object: "model",
      created: CREATED,
      owned_by: "exo",
      hugging_face_id: m.id,
      name,
      description: "",
      context_length: m.contextLength ?? 32768,
      tags: [],
      storage_size_megabytes: 327,
      supports_tensor: false,
      tasks: ["TextGeneration"],
      is_custom: false,
      family: name.split(/[-.]/)[0]!.toLowerCase().replace(/\d+$/, ""),
      quantization: /(\d+bit)/.exec(m.id)?.[1] ?? "",
      base_model: name,
      capabilities: m.capabilities ?? ["text"],
      reasoning_dialect: "none",
    }
  }

  async function chat(req: Request, path: string): Promise<Response> {
    const text = await record(state.stats, req, path)
    const body = parseBody(text)
    if (!body || typeof body.model !== "string" || !Array.isArray(body.messages)) {
      return json({ detail: [{ type: "missing", loc: ["body", body && typeof body.model === "string" ? "messages" : "model"], msg: "Field required", input: body ?? null }] }, { status: 422 })
    }
    const model = body.model
    const m = state.models.find((x) => x.id === model)
    if (!m || !hasInstance(m)) return error(404, `No instance found for model ${model}`)
    const track = await admit(state, req, text, (status, faults) => error(status, status === 429 ? "Too many requests" : `Emulated failure ${status}`, retryAfter(faults)))
    if (track instanceof Response) return track
    const id = crypto.randomUUID()
    const t = turn(state, body)
    const billed = {
      ...usage(t),
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    }
    if (body.stream !== true) {
      track.done()
      return json(
        { id, object: "chat.completion", created: CREATED, model, choices: [{ index: 0, message: withNulls(message(t)), logprobs: null, finish_reason: t.finish }], usage: billed, service_tier: null },
        { gzip: state.faults.gzip }
      )
    }
    // exo labels stream chunks "chat.completion", puts the role in every delta, the finish
    // reason and usage on the last content chunk, and sends tool calls whole in one chunk.
    const frame = (delta: Record<string, unknown>, finish: string | null) =>
      sse({ id, object: "chat.completion", created: CREATED, model, choices: [{ index: 0, delta: withNulls(delta), logprobs: null, finish_reason: finish, usage: null }], usage: finish ? billed : null, service_tier: null })
    const stats = { prompt_tps: 412.5, generation_tps: 61.2, prompt_tokens: t.prompt, generation_tokens: t.completion, peak_memory_usage: { in_bytes: 734003200 }, prefix_cache_hit: "none" }
    const keepAlives = Array.from({ length: Math.max(0, opts.keepAlives ?? 1) }, () => ": keep-alive\n\n")
    const { events, contentStart } = chatStream(t, { frame, lead: keepAlives, role: "every", finish: null, wholeToolCalls: true, tail: [`: generation_stats ${JSON.stringify(stats)}\n\n`] })
    const errorEvents = [sse({ error: { message: "Emulated runner failure", type: "InternalServerError", param: null, code: 500 } }), "data: [DONE]\n\n"]
    return streamResponse(state, track, { events, contentStart, errorEvents }, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "close", "x-accel-buffering": "no" })
  }

  const emu = serve("exo", opts, state, DEFAULT_MODELS, async (req) => {
    const url = new URL(req.url)
    const path = url.pathname
    const hs = state.faults.healthStatus
    if (path === "/node_id" && req.method === "GET") {
      await record(state.stats, req, path)
      return hs ? error(hs, `Emulated failure ${hs}`) : json(nodeId)
    }
    if ((path === "/v1/models" || path === "/models") && req.method === "GET") {
      await record(state.stats, req, path)
      if (hs) return error(hs, `Emulated failure ${hs}`)
      return json({ object: "list", data: state.models.map(card) })
    }
    if (path === "/v1/chat/completions" && req.method === "POST") return chat(req, path)
    if ((path === "/place_instance" || path === "/instance") && req.method === "POST") {
      const body = parseBody(await record(state.stats, req, path)) ?? {}
      const modelId = String(body.model_id ?? "")
      const m = state.models.find((x) => x.id === modelId)
      if (!m) return error(404, `Model card not found for ${modelId}`)
      state.loaded.set(modelId, true)
      return json({ message: "Command received.", command_id: crypto.randomUUID(), model_card: { model_id: modelId } })
    }
    if (path === "/state" && req.method === "GET") {
      const instances = Object.fromEntries(
        state.models.filter(hasInstance).map((m, i) => [`instance-${i}`, { MlxRingInstance: { instanceId: `instance-${i}`, shardAssignments: { modelId: m.id, nodeToRunner: { [nodeId]: `runner-${i}` } } } }])
      )
      return json({ instances, runners: {}, downloads: {}, node_memory: {}, topology: { nodes: [nodeId], connections: [] } })
    }
    if (path === "/ollama/api/version") return json({ version: "1.0.0" })
    if (path === "/ollama/api/ps") return json({ models: state.models.filter(hasInstance).map((m) => ({ name: m.id, model: m.id, size: 0 })) })
    if (path === "/ollama/api/tags") {
      return json({ models: state.models.map((m) => ({ name: m.id, model: m.id, modified_at: "2026-06-22T00:00:00Z", size: 0, digest: "sha256:000000000000", details: { format: "mlx" } })) })
    }
    if (path === "/" && req.method === "GET") return new Response("<!doctype html><title>EXO</title><div id=app></div>", { headers: { "content-type": "text/html; charset=utf-8" } })
    return error(404, "Not Found")
  })
  return Object.assign(emu, {
    placeInstance(modelId: string) {
      state.loaded.set(modelId, true)
    },
    deleteInstance(modelId: string) {
      state.loaded.set(modelId, false)
    },
  })
}
