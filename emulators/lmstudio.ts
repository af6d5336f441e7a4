/**
 * LM Studio (closed source: docs + observed): port 1234, no
 * health route, `X-Powered-By: Express`, unknown routes answered `200 {"error":"Unexpected
 * endpoint or method. (GET /x)"}`, `/v1/models` with `owned_by: "organization_owner"` only,
 * `/api/v0/models` (type, state, max/loaded context, `capabilities: ["tool_use"]`),
 * `/api/v1/models` (0.4+), errors whose `error` is a plain string, JIT loading of a
 * not-loaded model on its first request, and the version differences: unknown model 404
 * (≤0.3.5) or 400 (later), `include_usage` and OpenAI-shaped stream errors from 0.3.18.
 */
import { admit, CREATED, createState, delay, isLoaded, json, parseBody, randomId, record, retryAfter, serve, streamResponse } from "./common.ts"
import { chatStream, message, sse, turn, usage } from "./generate.ts"
import { createFleetSim, holdWhile, type FleetSim } from "./fleet.ts"
import type { Emulator, EmulatorModel, EmulatorOptions } from "./types.ts"

export interface LmstudioOptions extends EmulatorOptions {
  /** Just-in-time loading (default true). Off: only loaded models are listed and served. */
  jit?: boolean
  /** How long a JIT load takes before the request proceeds, ms (default 0). */
  jitLoadMs?: number
  /** Context a model is loaded with (`loaded_context_length`), default 4096. */
  loadedContextLength?: number
  /** LM Studio version the quirks follow (default "0.4.1"). */
  version?: string
}

export interface LmstudioEmulator extends Emulator {
  /** Mark a model loaded / not loaded (JIT loads flip it to loaded by themselves). */
  load(id: string): void
  unload(id: string): void
  /** The residency simulation, when started with `fleet` options. */
  fleet?: FleetSim
}

const DEFAULT_MODELS = ["qwen/qwen3-4b"]
const CT = "application/json; charset=utf-8"

function atLeast(version: string, min: string): boolean {
  const a = version.split(".").map(Number)
  const b = min.split(".").map(Number)
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0)
  return true
}

function typeOf(m: EmulatorModel): "llm" | "vlm" | "embeddings" {
  if (m.capabilities?.includes("embeddings") || (!m.capabilities && /embed/i.test(m.id))) return "embeddings"
  return m.capabilities?.includes("vision") ? "vlm" : "llm"
}

const stringError = (status: number, message: string, headers: Record<string, string> = {}) => json({ error: message }, { status, headers: { ...headers, "content-type": CT } })
const openaiError = (status: number, message: string, param: string | null, code: string | null) =>
  json({ error: { message, type: "invalid_request_error", param, code } }, { status, headers: { "content-type": CT } })

export async function startLmstudio(opts: LmstudioOptions = {}): Promise<LmstudioEmulator> {
  const state = createState(opts, DEFAULT_MODELS)
  const version = opts.version ?? "0.4.1"
  const jit = opts.jit !== false
  const loadedCtx = opts.loadedContextLength ?? 4096
  const loaded = (m: EmulatorModel) => isLoaded(state, m)
  const listed = () => (jit ? state.models : state.models.filter(loaded))
  const sim = opts.fleet ? createFleetSim(state, opts.fleet) : undefined
  async function loadModel(id: string, signal?: AbortSignal, request = false): Promise<void> {
    if (sim) return sim.ensure(id, undefined, request)
    if (loaded(state.models.find((m) => m.id === id)!)) return
    await delay(opts.jitLoadMs ?? 0, signal ?? new AbortController().signal)
    state.loaded.set(id, true)
  }

  /** POST /api/v1/models/load and /unload (0.4+). Their error bodies are not documented: LM Studio's usual string error. */
  async function lifecycle(req: Request, path: string): Promise<Response> {
    const body = parseBody(await record(state.stats, req, path)) ?? {}
    if (path.endsWith("/load")) {
      const m = state.models.find((x) => x.id === body.model)
      if (!m) return stringError(404, `Model "${String(body.model)}" not found`)
      const started = performance.now()
      await loadModel(m.id)
      const ctx = Math.min(m.contextLength ?? 32768, loadedCtx)
      return json({ model_instance_id: m.id, config: { context_length: ctx, eval_batch_size: 512, flash_attention: true, num_experts: 0, offload_kv_cache_to_gpu: true }, load_time_seconds: (performance.now() - started) / 1000 }, { headers: { "content-type": CT } })
    }
    const id = String(body.instance_id ?? "")
    const m = state.models.find((x) => x.id === id)
    if (!m || !loaded(m)) return stringError(404, `No loaded model instance "${id}"`)
    if (sim) sim.unload(id)
    else state.loaded.set(id, false)
    return json({ instance_id: id }, { headers: { "content-type": CT } })
  }

  function v0Entry(m: EmulatorModel) {
    const type = typeOf(m)
    const max = m.contextLength ?? (type === "embeddings" ? 2048 : 32768)
    const caps = (m.capabilities ?? (type === "embeddings" ? [] : ["tool_use"])).filter((c) => c !== "vision" && c !== "embeddings")
    return {
      id: m.id,
      object: "model",
      type,
      publisher: m.id.includes("/") ? m.id.split("/")[0] : "lmstudio-community",
      arch: type === "embeddings" ? "nomic-bert" : (m.id.split("/").pop() ?? m.id).split(/[-_.]/)[0]!.toLowerCase(),
      compatibility_type: "gguf",
      quantization: "Q4_K_M",
      state: loaded(m) ? "loaded" : "not-loaded",
      max_context_length: max,
      ...(loaded(m) ? { loaded_context_length: Math.min(max, loadedCtx) } : {}),
      ...(caps.length && atLeast(version, "0.3.16") ? { capabilities: caps } : {}),
    }
  }

  function v1Entry(m: EmulatorModel) {
    const type = typeOf(m)
    const max = m.contextLength ?? (type === "embeddings" ? 2048 : 32768)
    return {
      type: type === "embeddings" ? "embedding" : "llm",
      publisher: m.id.includes("/") ? m.id.split("/")[0] : "lmstudio-community",
      key: m.id,
      display_name: m.id.split("/").pop(),
      quantization: { name: "Q4_K_M", bits_per_weight: 4 },
      size_bytes: m.sizeBytes ?? 2497280256,
      params_string: type === "embeddings" ? null : "4B",
      loaded_instances: loaded(m) ? [{ id: m.id, config: { context_length: Math.min(max, loadedCtx), eval_batch_size: 512, parallel: 4, flash_attention: true, offload_kv_cache_to_gpu: true } }] : [],
      max_context_length: max,
      format: "gguf",
      ...(type === "embeddings" ? {} : { capabilities: { vision: type === "vlm", trained_for_tool_use: m.capabilities?.includes("tool_use") ?? true } }),
    }
  }

  /** Which model answers, or the error LM Studio gives. */
  function resolve(name: string): EmulatorModel | Response {
    const ready = state.models.filter(loaded)
    if (!jit) {
      if (ready.length === 0) return stringError(400, "No models loaded. Please load a model in the developer page or use the 'lms load' command.")
      if (ready.length === 1) return ready[0]! // the `model` field is ignored (bug tracker #619)
    }
    const m = (jit ? state.models : ready).find((x) => x.id === name)
    if (m) return m
    if (!atLeast(version, "0.3.6")) {
      return openaiError(404, `Model "${name}" not found. Please specify a valid model.\n\nYour models:\n\n${state.models.map((x) => x.id).join("\n")}`, "model", "model_not_found")
    }
    const examples = state.models.slice(0, 3).map((x) => x.id).join(", ")
    return openaiError(400, `Invalid model identifier "${name}". Please specify a valid downloaded model (e.g., ${examples}, ...).`, "model", "model_not_found")
  }

  async function generate(req: Request, path: string): Promise<Response> {
    const text = await record(state.stats, req, path)
    const body = parseBody(text)
    if (!body) return stringError(400, "'messages' field is required")
    const target = resolve(String(body.model ?? ""))
    if (target instanceof Response) return target
    const model = target.id
    const onFault = (status: number, faults: typeof state.faults) => stringError(status, status === 429 ? "Too many requests" : `Emulated failure ${status}`, retryAfter(faults))
    // JIT: a model that is not loaded loads on its first request, which waits.
    const track = await admit(state, req, text, onFault, (signal) => loadModel(model, signal, true))
    if (track instanceof Response) return track
    if (sim) holdWhile(sim, model, track)
    const t = turn(state, body)
    const gzip = state.faults.gzip
    if (path.endsWith("/embeddings")) {
      track.done()
      return json({ object: "list", data: [{ object: "embedding", embedding: [0.0123, -0.0456, 0.0789], index: 0 }], model, usage: { prompt_tokens: 0, total_tokens: 0 } }, { gzip, headers: { "content-type": CT } })
    }
    const chat = path.endsWith("/chat/completions")
    const id = `${chat ? "chatcmpl" : "cmpl"}-${randomId(21)}`
    const extras = path.startsWith("/api/v0/")
      ? { stats: { tokens_per_second: 51.4, time_to_first_token: 0.111, generation_time: 0.954, stop_reason: "eosFound" }, model_info: { arch: "qwen3", quant: "Q4_K_M", format: "gguf", context_length: loadedCtx }, runtime: { name: "llama.cpp-linux-x86_64-avx2", version: "1.50.2", supported_formats: ["gguf"] } }
      : { stats: {}, system_fingerprint: model }
    if (body.stream !== true) {
      track.done()
      const choice = chat ? { index: 0, logprobs: null, finish_reason: t.finish, message: message(t) } : { index: 0, text: t.reply, logprobs: null, finish_reason: t.finish }
      return json({ id, object: chat ? "chat.completion" : "text_completion", created: CREATED, model, choices: [choice], usage: usage(t), ...extras }, { gzip, headers: { "content-type": CT } })
    }
    const base = { id, object: chat ? "chat.completion.chunk" : "text_completion", created: CREATED, model, system_fingerprint: model }
    const frame = (delta: Record<string, unknown>, finish: string | null) =>
      sse({ ...base, choices: [chat ? { index: 0, delta, logprobs: null, finish_reason: finish } : { index: 0, text: delta.content ?? "", logprobs: null, finish_reason: finish }] })
    const so = body.stream_options as { include_usage?: boolean } | undefined
    const tail = so?.include_usage && atLeast(version, "0.3.18") ? [sse({ ...base, choices: [], usage: usage(t) })] : []
    const { events, contentStart } = chatStream(t, { frame, role: "every", tail })
    const crash = "Emulated model crash"
    const errorEvents = [atLeast(version, "0.3.18") ? sse({ error: { message: crash, type: "server_error", param: null, code: null } }) : sse({ error: crash })]
    return streamResponse(state, track, { events, contentStart, errorEvents }, { "content-type": "text/event-stream", "cache-control": "no-cache" })
  }

  async function route(req: Request): Promise<Response> {
    const url = new URL(req.url)
    const path = url.pathname
    if (opts.apiKey && atLeast(version, "0.4.0") && req.headers.get("authorization") !== `Bearer ${opts.apiKey}`) {
      return stringError(401, "Invalid or missing API token. Provide it as 'Authorization: Bearer <token>'.")
    }
    const v0 = atLeast(version, "0.3.6")
    if (req.method === "GET" && (path === "/v1/models" || (v0 && path === "/api/v0/models") || (atLeast(version, "0.4.0") && path === "/api/v1/models"))) {
      await record(state.stats, req, path)
      const hs = state.faults.healthStatus
      if (hs) return stringError(hs, `Emulated failure ${hs}`)
      if (path === "/v1/models") return json({ data: listed().map((m) => ({ id: m.id, object: "model", owned_by: "organization_owner" })), object: "list" }, { headers: { "content-type": CT } })
      if (path === "/api/v0/models") return json({ object: "list", data: state.models.map(v0Entry) }, { headers: { "content-type": CT } })
      return json({ models: state.models.map(v1Entry) }, { headers: { "content-type": CT } })
    }
    if (v0 && req.method === "GET" && path.startsWith("/api/v0/models/")) {
      const m = state.models.find((x) => x.id === decodeURIComponent(path.slice("/api/v0/models/".length)))
      return m ? json(v0Entry(m), { headers: { "content-type": CT } }) : stringError(404, "Model not found")
    }
    if (req.method === "POST" && atLeast(version, "0.4.0") && (path === "/api/v1/models/load" || path === "/api/v1/models/unload")) return lifecycle(req, path)
    const gen = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"]
    if (req.method === "POST" && (gen.includes(path) || (v0 && gen.map((p) => p.replace("/v1/", "/api/v0/")).includes(path)))) return generate(req, path)
    // LM Studio's catch-all: a 200 whose body is an error string.
    return stringError(200, `Unexpected endpoint or method. (${req.method} ${path}${url.search})`)
  }

  const emu = serve("lmstudio", opts, state, DEFAULT_MODELS, route, { headers: { "x-powered-by": "Express" } })
  return Object.assign(emu, {
    fleet: sim,
    load(id: string) {
      state.loaded.set(id, true)
    },
    unload(id: string) {
      state.loaded.set(id, false)
    },
  })
}
