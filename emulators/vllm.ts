/**
 * vLLM's OpenAI server (reference/backends.md §3): `/health` empty 200, connection
 * refused while the model loads, `max_model_len` on `/v1/models`, nested error
 * envelope with an int `code` (or the old flat one), `include_usage` defaulting to true
 * once `stream_options` is present, `x-request-id` on responses.
 */
import {
  admit,
  CREATED,
  inFlight,
  json,
  newStats,
  options,
  pacedStream,
  parseBody,
  pieces,
  promptTokens,
  record,
  sse,
  toModels,
} from "./common.ts"
import type { Emulator, EmulatorOptions, Faults } from "./types.ts"

export interface VllmOptions extends EmulatorOptions {
  /** Still loading: the port refuses connections until `finishLoading()`. */
  loading?: boolean
  /** Pre-0.10.2 flat error envelope. */
  flatErrors?: boolean
}

export interface VllmEmulator extends Emulator {
  finishLoading(): Promise<void>
}

const DEFAULT_MODELS = ["meta-llama/Llama-3.1-8B-Instruct"]
const TYPES: Record<number, string> = { 400: "BadRequestError", 401: "Unauthorized", 404: "NotFoundError", 408: "RequestTimeout", 429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable" }

export async function startVllm(opts: VllmOptions = {}): Promise<VllmEmulator> {
  const o = options(opts)
  const state: { stats: ReturnType<typeof newStats>; faults: Faults; models: ReturnType<typeof toModels>; crash?: () => void } = {
    stats: newStats(),
    faults: {},
    models: toModels(opts.models, DEFAULT_MODELS),
  }
  let seq = 0

  function error(status: number, message: string, param: string | null = null, headers: Record<string, string> = {}): Response {
    const type = TYPES[status] ?? "InternalServerError"
    const body = opts.flatErrors
      ? { object: "error", message, type, param, code: status }
      : { error: { message, type, param, code: status } }
    return json(body, { status, headers })
  }

  function requestId(): string {
    return `chatcmpl-${(++seq).toString(16).padStart(32, "0")}`
  }

  async function chat(req: Request, path: string): Promise<Response> {
    const text = await record(state.stats, req, path)
    if (opts.apiKey && req.headers.get("authorization") !== `Bearer ${opts.apiKey}`) {
      return json({ error: "Unauthorized" }, { status: 401 })
    }
    const body = parseBody(text)
    if (!body) return error(400, "Expecting value: line 1 column 1 (char 0)")
    const model = typeof body.model === "string" && body.model ? body.model : state.models[0]!.id
    if (!state.models.some((m) => m.id === model)) {
      return error(404, `The model \`${model}\` does not exist.`, "model")
    }
    const faults = state.faults
    const admitted = await admit(state, req, text, o.latencyMs)
    if (!admitted.ok) {
      const status = admitted.status
      if (!status) return new Response(null, { status: 499 })
      const headers: Record<string, string> = faults.retryAfter ? { "retry-after": String(faults.retryAfter) } : {}
      return error(status, status === 429 ? "Too many requests" : `Emulated failure ${status}`, null, headers)
    }
    const { track } = admitted
    const id = requestId()
    const parts = pieces(o.reply, o.chunks)
    const prompt = promptTokens(body)
    const usage = { prompt_tokens: prompt, total_tokens: prompt + parts.length, completion_tokens: parts.length }
    const headers = { "x-request-id": id }
    if (body.stream !== true) {
      track.done()
      return json(
        {
          id,
          object: "chat.completion",
          created: CREATED,
          model,
          choices: [{ index: 0, message: { role: "assistant", content: o.reply, tool_calls: [] }, logprobs: null, finish_reason: "stop", stop_reason: null }],
          usage,
          prompt_logprobs: null,
        },
        { headers, gzip: faults.gzip }
      )
    }
    const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
      sse({
        id,
        object: "chat.completion.chunk",
        created: CREATED,
        model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, ...extra }],
      })
    const events = [chunk({ role: "assistant", content: "" }), ...parts.map((p) => chunk({ content: p }))]
    events.push(chunk({ content: "" }, "stop", { stop_reason: null }))
    const streamOptions = body.stream_options as { include_usage?: boolean } | undefined
    if (streamOptions && streamOptions.include_usage !== false) {
      events.push(sse({ id, object: "chat.completion.chunk", created: CREATED, model, choices: [], usage }))
    }
    events.push("data: [DONE]\n\n")
    const errorEvents = [sse({ error: { message: "Emulated engine failure", type: "InternalServerError", param: null, code: 500 } }), "data: [DONE]\n\n"]
    return new Response(
      pacedStream({ events, contentStart: 1, errorEvents }, { chunkDelayMs: o.chunkDelayMs, faults, track, crash: state.crash }),
      { headers: { ...headers, "content-type": "text/event-stream; charset=utf-8" } }
    )
  }

  const fetchHandler = async (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname
    if (path === "/health" || path === "/ping") {
      await record(state.stats, req, path)
      return new Response(null, { status: state.faults.healthStatus ?? 200 })
    }
    if (path === "/version") return json({ version: opts.version ?? "0.11.0" })
    if (path === "/load") return json({ server_load: state.stats.inFlight })
    if (path === "/metrics") {
      const labels = `engine="0",model_name="${state.models[0]?.id ?? ""}"`
      return new Response(
        `# HELP vllm:num_requests_running Number of requests in model execution batches.\n# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{${labels}} ${state.stats.inFlight}.0\n# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{${labels}} 0.0\n`,
        { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } }
      )
    }
    if (path.startsWith("/v1/") && opts.apiKey && req.headers.get("authorization") !== `Bearer ${opts.apiKey}`) {
      return json({ error: "Unauthorized" }, { status: 401 })
    }
    if (path === "/v1/models") {
      await record(state.stats, req, path)
      return json({
        object: "list",
        data: state.models.map((m) => ({
          id: m.id,
          object: "model",
          created: CREATED,
          owned_by: "vllm",
          root: m.id,
          parent: null,
          max_model_len: m.contextLength ?? 131072,
          permission: [{ id: "modelperm-0", object: "model_permission", created: CREATED, allow_create_engine: false, allow_sampling: true, allow_logprobs: true, allow_search_indices: false, allow_view: true, allow_fine_tuning: false, organization: "*", group: null, is_blocking: false }],
        })),
      })
    }
    if (path === "/v1/chat/completions" && req.method === "POST") return chat(req, path)
    if ((path === "/v1/completions" || path === "/v1/embeddings") && req.method === "POST") {
      const text = await record(state.stats, req, path)
      const body = parseBody(text) ?? {}
      const model = String(body.model ?? state.models[0]!.id)
      if (path === "/v1/embeddings") {
        return json({ id: "embd-1", object: "list", created: CREATED, model, data: [{ index: 0, object: "embedding", embedding: [0.1, 0.2, 0.3] }], usage: { prompt_tokens: 2, total_tokens: 2, completion_tokens: 0 } })
      }
      return json({ id: "cmpl-1", object: "text_completion", created: CREATED, model, choices: [{ index: 0, text: o.reply, logprobs: null, finish_reason: "stop" }], usage: { prompt_tokens: promptTokens(body), completion_tokens: 8, total_tokens: promptTokens(body) + 8 } })
    }
    return json({ detail: "Not Found" }, { status: 404 })
  }

  let server: ReturnType<typeof Bun.serve> | undefined
  let port = o.port
  const listen = () => {
    const started = Bun.serve({ port, hostname: o.hostname, idleTimeout: 0, fetch: fetchHandler })
    server = started
    port = started.port!
    state.crash = () => {
      void started.stop(true)
      server = undefined
    }
  }

  if (opts.loading) {
    // vLLM binds early but only listens once the engine is ready: reserve a port number.
    const probe = Bun.serve({ port, hostname: o.hostname, fetch: () => new Response() })
    port = probe.port!
    probe.stop(true)
  } else listen()

  const base = {
    kind: "vllm",
    url: `http://${o.hostname}:${port}`,
    port,
    stats: state.stats,
    faults: state.faults,
    get models() {
      return state.models
    },
    setModels(models: Parameters<Emulator["setModels"]>[0]) {
      state.models = toModels(models, DEFAULT_MODELS)
    },
    async stop() {
      await server?.stop(true)
      server = undefined
    },
    async finishLoading() {
      if (!server) listen()
    },
  }
  return base
}
