/**
 * llama.cpp `llama-server`: `Server: llama.cpp` on every
 * response, 503 "Loading model" on every path while loading, `/v1/models` with both
 * `models` and `data`, `/props`, `/slots`, `/metrics` 501 unless enabled, any model
 * name accepted and echoed, `exceed_context_size_error`, key via Bearer or X-Api-Key.
 */
import { admit, CREATED, createState, json, parseBody, record, retryAfter, serve, streamResponse } from "./common.ts"
import { chatStream, message, promptTokens, sse, SYSTEM_NOT_FIRST, templateRaises, thinkingOn, thought, turn } from "./generate.ts"
import { createFleetSim, holdWhile, type FleetSim } from "./fleet.ts"
import type { Emulator, EmulatorOptions } from "./types.ts"

export interface LlamacppOptions extends EmulatorOptions {
  loading?: boolean
  metrics?: boolean
  /** Per-slot context window (n_ctx); default 8192. */
  nCtx?: number
  vision?: boolean
  slots?: number
  /**
   * Router mode (started without `-m`): `/models` gives each model's status, `POST
   * /models/load` starts a load and answers at once, `POST /models/unload`, and a request
   * loads its model first. Residency follows `fleet` (default: unlimited, instant).
   */
  router?: boolean
}

export interface LlamacppEmulator extends Emulator {
  setLoading(loading: boolean): void
  /** The residency simulation (router mode). */
  fleet?: FleetSim
}

const DEFAULT_MODELS = ["ggml-org/gemma-3-4b-it-GGUF:Q4_K_M"]
const TYPES: Record<number, string> = { 400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error", 500: "server_error", 501: "not_supported_error", 503: "unavailable_error" }
const BUILD = "b6215-2f3a9c1"

const err = (code: number, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  json({ error: { code, message, type: TYPES[code] ?? "server_error", ...extra } }, { status: code, headers })

export async function startLlamacpp(opts: LlamacppOptions = {}): Promise<LlamacppEmulator> {
  const state = createState(opts, DEFAULT_MODELS)
  state.loading = opts.loading ?? false
  const nCtx = opts.nCtx ?? 8192
  const slots = opts.slots ?? 4
  /** The prompt the slot last processed: a request that starts the same way reuses it (`cache_prompt`). */
  let slotPrompt = ""
  const sim = opts.router ? createFleetSim(state, opts.fleet ?? {}) : undefined
  const statusOf = (id: string) => (sim!.isLoading(id) ? "loading" : state.loaded.get(id) ? "loaded" : "unloaded")

  /** Router mode's POST /models/load and /models/unload (server-models.cpp). */
  async function lifecycle(req: Request, path: string): Promise<Response> {
    const body = parseBody(await record(state.stats, req, path)) ?? {}
    const id = String(body.model ?? "")
    const known = state.models.some((m) => m.id === id)
    if (path === "/models/load") {
      if (!known) return err(404, "model is not found")
      if (statusOf(id) !== "unloaded") return err(400, "model is already running")
      void sim!.ensure(id)
      return json({ success: true })
    }
    if (!known) return err(400, "model is not found")
    if (statusOf(id) === "unloaded") return err(400, "model is not running")
    sim!.unload(id)
    return json({ success: true })
  }

  /** Prompt tokens taken from the slot's cache: the common prefix, all but the last token at most. */
  function reused(body: Record<string, unknown>, prompt: number): number {
    const text = JSON.stringify(body.messages ?? body.prompt ?? "")
    let i = 0
    while (i < text.length && i < slotPrompt.length && text.charCodeAt(i) === slotPrompt.charCodeAt(i)) i++
    slotPrompt = text
    return Math.max(0, Math.min(Math.floor(i / 4), prompt - 1))
  }

  function authorized(req: Request, path: string): boolean {
    if (!opts.apiKey || ["/health", "/v1/health", "/models", "/v1/models", "/"].includes(path)) return true
    return req.headers.get("authorization") === `Bearer ${opts.apiKey}` || req.headers.get("x-api-key") === opts.apiKey
  }

  async function chat(req: Request, path: string): Promise<Response> {
    const text = await record(state.stats, req, path)
    const body = parseBody(text)
    if (!body) return err(400, "Failed to parse JSON")
    const model = String(body.model ?? state.models[0]!.id)
    if (opts.strictTemplate && templateRaises(body)) {
      return err(400, `Unable to generate parser for this template. Automatic parser generation failed: \nError: Jinja Exception: ${SYSTEM_NOT_FIRST}`)
    }
    const prompt = promptTokens(body)
    if (prompt >= nCtx) {
      return err(400, `request (${prompt} tokens) exceeds the available context size (${nCtx} tokens), try increasing it`, { type: "exceed_context_size_error", n_prompt_tokens: prompt, n_ctx: nCtx })
    }
    if (sim && !state.models.some((m) => m.id === model)) return err(400, "model not found")
    const warmUp = sim ? () => sim.ensure(model, undefined, true) : undefined
    const track = await admit(state, req, text, (status, faults) => err(status, `emulated failure ${status}`, {}, retryAfter(faults)), warmUp)
    if (track instanceof Response) return track
    if (sim) holdWhile(sim, model, track)
    const id = "chatcmpl-Wq3hHn2cXoO0yQ7Zr9tKs1Pb"
    const t = thought(state, turn(state, body), thinkingOn(body))
    const cached = reused(body, prompt)
    const usage = { completion_tokens: t.completion, prompt_tokens: prompt, total_tokens: prompt + t.completion, prompt_tokens_details: { cached_tokens: cached } }
    const timings = { cache_n: cached, prompt_n: prompt - cached, prompt_ms: 30.9, predicted_n: t.completion, predicted_ms: 37.7 }
    if (body.stream !== true) {
      track.done()
      return json(
        { choices: [{ finish_reason: t.finish, index: 0, message: message(t) }], created: CREATED, model, system_fingerprint: BUILD, object: "chat.completion", usage, id, timings },
        { gzip: state.faults.gzip }
      )
    }
    const frame = (delta: Record<string, unknown>, finish: string | null) =>
      sse({ choices: [{ finish_reason: finish, index: 0, delta }], created: CREATED, id, model, system_fingerprint: BUILD, object: "chat.completion.chunk" })
    const so = body.stream_options as { include_usage?: boolean } | undefined
    const tail = so?.include_usage ? [sse({ choices: [], created: CREATED, id, model, system_fingerprint: BUILD, object: "chat.completion.chunk", usage, timings })] : []
    const { events, contentStart } = chatStream(t, { frame, lead: [frame({ role: "assistant", content: null }, null)], tail })
    const errorEvents = [sse({ error: { code: 500, message: "emulated slot failure", type: "server_error" } })]
    return streamResponse(state, track, { events, contentStart, errorEvents }, { "content-type": "text/event-stream" })
  }

  function modelList(): Response {
    const caps = opts.vision ? ["completion", "multimodal"] : ["completion"]
    return json({
      models: state.models.map((m) => ({ name: m.id, model: m.id, modified_at: "", size: "", digest: "", type: "model", description: "", tags: [""], capabilities: caps, parameters: "", details: { parent_model: "", format: "gguf", family: "", families: [""], parameter_size: "", quantization_level: "" } })),
      object: "list",
      data: state.models.map((m) => ({ id: m.id, aliases: [], tags: [], object: "model", created: CREATED, owned_by: "llamacpp", ...(sim ? { status: { value: statusOf(m.id), args: ["llama-server", "--port", "0"] } } : {}), meta: { vocab_type: 1, n_vocab: 262144, n_ctx: m.contextLength ?? nCtx, n_ctx_train: 131072, n_embd: 2560, n_params: 3880263168, size: 2489757952 } })),
    })
  }

  function props(): Response {
    return json({
      default_generation_settings: { n_ctx: nCtx, params: { n_predict: -1, temperature: 0.8, top_k: 40, top_p: 0.95, stream: true } },
      total_slots: slots,
      model_alias: state.models[0]?.id,
      model_path: "/models/model.gguf",
      modalities: { vision: opts.vision ?? false, audio: false },
      endpoint_slots: true,
      endpoint_props: false,
      endpoint_metrics: opts.metrics ?? false,
      chat_template: "{% for message in messages %}...",
      chat_template_caps: { supports_tools: true, supports_tool_calls: true, supports_tool_responses: true, supports_system_role: true, supports_parallel_tool_calls: false, supports_tool_call_id: false },
      bos_token: "<bos>",
      eos_token: "<eos>",
      build_info: BUILD,
    })
  }

  async function route(req: Request): Promise<Response> {
    const url = new URL(req.url)
    const path = url.pathname
    if (state.loading) return err(503, "Loading model")
    if (!authorized(req, path)) return err(401, "Invalid API Key")
    if (path === "/health" || path === "/v1/health") {
      await record(state.stats, req, path)
      const s = state.faults.healthStatus
      if (s) return err(s, s === 503 ? "Loading model" : "unhealthy")
      return json({ status: "ok" })
    }
    if (path === "/v1/models" || path === "/models") {
      await record(state.stats, req, path)
      return modelList()
    }
    if (sim && req.method === "POST" && (path === "/models/load" || path === "/models/unload")) return lifecycle(req, path)
    if (path === "/props") return props()
    if (path === "/slots") {
      const busy = Math.min(state.stats.inFlight, slots)
      if (url.searchParams.get("fail_on_no_slot") && busy >= slots) return err(503, "no slot available")
      return json(Array.from({ length: slots }, (_, id) => ({ id, id_task: id < busy ? 100 + id : -1, n_ctx: nCtx, speculative: false, is_processing: id < busy })))
    }
    if (path === "/metrics") {
      if (!opts.metrics) return err(501, "This server does not support metrics endpoint.")
      return new Response(`# HELP llamacpp:requests_processing Number of requests processing.\n# TYPE llamacpp:requests_processing gauge\nllamacpp:requests_processing ${state.stats.inFlight}\n`, { headers: { "content-type": "text/plain; version=0.0.4" } })
    }
    if ((path === "/v1/chat/completions" || path === "/chat/completions") && req.method === "POST") return chat(req, path)
    // The model's chat template, then its tokenizer (one token per four characters here).
    if (path === "/apply-template" && req.method === "POST") {
      const body = parseBody(await record(state.stats, req, path)) ?? {}
      const list = Array.isArray(body.messages) ? (body.messages as { role?: string; content?: unknown }[]) : []
      const prompt = list.map((m) => `<|im_start|>${m.role}\n${typeof m.content === "string" ? m.content : JSON.stringify(m.content)}<|im_end|>\n`).join("") + "<|im_start|>assistant\n"
      return json({ prompt })
    }
    if (path === "/tokenize" && req.method === "POST") {
      const body = parseBody(await record(state.stats, req, path)) ?? {}
      const content = typeof body.content === "string" ? body.content : ""
      return json({ tokens: Array.from({ length: Math.ceil(content.length / 4) }, (_, i) => 1000 + i) })
    }
    if (path === "/v1/embeddings" && req.method === "POST") {
      await record(state.stats, req, path)
      return err(501, "This server does not support embeddings. Start it with `--embeddings`")
    }
    if (path === "/") return new Response("<!doctype html><title>llama.cpp</title>", { headers: { "content-type": "text/html" } })
    return err(404, "File Not Found")
  }

  const emu = serve("llamacpp", opts, state, DEFAULT_MODELS, route, { headers: { server: "llama.cpp" } })
  return Object.assign(emu, {
    fleet: sim,
    setLoading(value: boolean) {
      state.loading = value
    },
  })
}
