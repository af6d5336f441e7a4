/**
 * vLLM's OpenAI server: `/health` empty 200, connection
 * refused while the model loads, `max_model_len` on `/v1/models`, nested error
 * envelope with an int `code` (or the old flat one), `include_usage` defaulting to true
 * once `stream_options` is present, `x-request-id` on responses. `/v1/responses` is served,
 * or (`noResponses`, as before vLLM had it) FastAPI's 404.
 */
import { admit, CREATED, createState, json, parseBody, record, retryAfter, serve, streamResponse } from "./common.ts"
import { chatStream, completionStream, message, promptTokens, sse, SYSTEM_NOT_FIRST, templateRaises, thinkingOn, thought, turn, type Turn } from "./generate.ts"
import type { Emulator, EmulatorOptions, Faults } from "./types.ts"

export interface VllmOptions extends EmulatorOptions {
  /** Still loading: the port refuses connections until `finishLoading()`. */
  loading?: boolean
  /** Pre-0.10.2 flat error envelope. */
  flatErrors?: boolean
  /**
   * An older vLLM without the Responses API: `/v1/responses` is FastAPI's 404 (or this
   * status, as other servers and proxies answer a route they lack: 405, 501).
   */
  noResponses?: boolean | 404 | 405 | 501
}

export interface VllmEmulator extends Emulator {
  finishLoading(): Promise<void>
}

const DEFAULT_MODELS = ["meta-llama/Llama-3.1-8B-Instruct"]
const TYPES: Record<number, string> = { 400: "BadRequestError", 401: "Unauthorized", 404: "NotFoundError", 408: "RequestTimeout", 429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable" }

/** vLLM's own usage key order. */
const vllmUsage = (t: Turn) => ({ prompt_tokens: t.prompt, total_tokens: t.prompt + t.completion, completion_tokens: t.completion })

/** The `invalidJson` fault: a 200 whose body is not the JSON document asked for. */
function notJson(fault: NonNullable<Faults["invalidJson"]>, headers: Record<string, string>): Response {
  return new Response(fault.body, { headers: { ...headers, "content-type": fault.contentType ?? "application/json" } })
}

export async function startVllm(opts: VllmOptions = {}): Promise<VllmEmulator> {
  const state = createState(opts, DEFAULT_MODELS)
  state.loading = opts.loading ?? false
  let seq = 0

  function error(status: number, message: string, param: string | null = null, headers: Record<string, string> = {}): Response {
    const type = TYPES[status] ?? "InternalServerError"
    const body = opts.flatErrors ? { object: "error", message, type, param, code: status } : { error: { message, type, param, code: status } }
    return json(body, { status, headers })
  }

  async function chat(req: Request, path: string): Promise<Response> {
    const text = await record(state.stats, req, path)
    if (opts.apiKey && req.headers.get("authorization") !== `Bearer ${opts.apiKey}`) return json({ error: "Unauthorized" }, { status: 401 })
    const body = parseBody(text)
    if (!body) return error(400, "Expecting value: line 1 column 1 (char 0)")
    const model = typeof body.model === "string" && body.model ? body.model : state.models[0]!.id
    if (!state.models.some((m) => m.id === model)) return error(404, `The model \`${model}\` does not exist.`, "model")
    // vLLM renders the template before anything else and answers its exception as a 400.
    if (opts.strictTemplate && templateRaises(body)) return error(400, SYSTEM_NOT_FIRST)
    const tooLong = overContext(body, state.models.find((m) => m.id === model)!.contextLength ?? 131072)
    if (tooLong) return error(400, tooLong)
    const track = await admit(state, req, text, (status, faults) => error(status, status === 429 ? "Too many requests" : `Emulated failure ${status}`, null, retryAfter(faults)))
    if (track instanceof Response) return track
    const id = `chatcmpl-${(++seq).toString(16).padStart(32, "0")}`
    const t = thought(state, turn(state, body), thinkingOn(body))
    const headers = { "x-request-id": id }
    if (state.faults.invalidJson && body.stream !== true) {
      track.done()
      return notJson(state.faults.invalidJson, headers)
    }
    if ((body.stream !== true && !state.faults.alwaysStream) || state.faults.ignoreStream) {
      track.done()
      const m = message(t)
      const choice = { index: 0, message: { ...m, tool_calls: m.tool_calls ?? [] }, logprobs: null, finish_reason: t.finish, stop_reason: null }
      return json({ id, object: "chat.completion", created: CREATED, model, choices: [choice], usage: vllmUsage(t), prompt_logprobs: null }, { headers, gzip: state.faults.gzip })
    }
    const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
      sse({ id, object: "chat.completion.chunk", created: CREATED, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, ...extra }] })
    const streamOptions = body.stream_options as { include_usage?: boolean } | undefined
    const tail = streamOptions && streamOptions.include_usage !== false ? [sse({ id, object: "chat.completion.chunk", created: CREATED, model, choices: [], usage: vllmUsage(t) })] : []
    const { events, contentStart } = chatStream(t, {
      frame: (delta, finish) => (finish ? chunk(delta, finish, { stop_reason: null }) : chunk(delta)),
      lead: [chunk({ role: "assistant", content: "" })],
      finish: { content: "" },
      tail,
    })
    const errorEvents = [sse({ error: { message: "Emulated engine failure", type: "InternalServerError", param: null, code: 500 } }), "data: [DONE]\n\n"]
    return streamResponse(state, track, { events, contentStart, errorEvents }, { ...headers, "content-type": "text/event-stream; charset=utf-8" })
  }

  /** vLLM's own Responses API (`/v1/responses`): text or function calls, streamed as semantic events. */
  async function responses(req: Request, path: string): Promise<Response> {
    const body = parseBody(await record(state.stats, req, path))
    if (!body) return error(400, "Expecting value: line 1 column 1 (char 0)")
    const model = String(body.model ?? "")
    if (!state.models.some((m) => m.id === model)) return error(404, `The model \`${model}\` does not exist.`, "model")
    const t = turn(state, { ...body, messages: typeof body.input === "string" ? [{ role: "user", content: body.input }] : body.input })
    const id = `resp_${(++seq).toString(16).padStart(32, "0")}`
    const text = { type: "message", id: `msg_${seq}`, status: "completed", role: "assistant", content: [{ type: "output_text", text: t.reply, annotations: [], logprobs: null }] }
    const calls = t.calls.map((c) => ({ type: "function_call", id: `fc_${c.id}`, call_id: c.id, name: c.name, arguments: c.arguments, status: "completed" }))
    const usage = { input_tokens: t.prompt, input_tokens_details: { cached_tokens: 0 }, output_tokens: t.completion, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: t.prompt + t.completion }
    const response = (status: string, output: unknown[]) => ({ id, object: "response", created_at: CREATED, model, status, output, usage: status === "completed" ? usage : null, error: null, incomplete_details: null, tools: [], parallel_tool_calls: true, tool_choice: "auto" })
    const output = calls.length ? calls : [text]
    if (state.faults.invalidJson && body.stream !== true) return notJson(state.faults.invalidJson, {})
    if (body.stream !== true) return json(response("completed", output))
    let n = 0
    const ev = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n++, ...data })}\n\n`
    const events = [ev("response.created", { response: response("in_progress", []) })]
    output.forEach((item, output_index) => {
      if (item.type === "function_call") {
        events.push(ev("response.output_item.added", { output_index, item: { ...item, arguments: "", status: "in_progress" } }))
        events.push(ev("response.function_call_arguments.delta", { output_index, item_id: item.id, delta: (item as { arguments: string }).arguments }))
      } else {
        events.push(ev("response.output_item.added", { output_index, item: { ...item, content: [], status: "in_progress" } }))
        events.push(ev("response.content_part.added", { output_index, item_id: item.id, content_index: 0, part: { type: "output_text", text: "", annotations: [] } }))
        for (const p of t.parts) events.push(ev("response.output_text.delta", { output_index, item_id: item.id, content_index: 0, delta: p }))
      }
      events.push(ev("response.output_item.done", { output_index, item }))
    })
    events.push(ev("response.completed", { response: response("completed", output) }))
    return new Response(events.join(""), { headers: { "content-type": "text/event-stream; charset=utf-8" } })
  }

  function metrics(): Response {
    const labels = `engine="0",model_name="${state.models[0]?.id ?? ""}"`
    return new Response(
      `# HELP vllm:num_requests_running Number of requests in model execution batches.\n# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{${labels}} ${state.stats.inFlight}.0\n# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{${labels}} 0.0\n`,
      { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } }
    )
  }

  function models(): Response {
    const permission = [{ id: "modelperm-0", object: "model_permission", created: CREATED, allow_create_engine: false, allow_sampling: true, allow_logprobs: true, allow_search_indices: false, allow_view: true, allow_fine_tuning: false, organization: "*", group: null, is_blocking: false }]
    return json({
      object: "list",
      data: state.models.map((m) => ({ id: m.id, object: "model", created: CREATED, owned_by: "vllm", root: m.id, parent: null, max_model_len: m.contextLength ?? 131072, permission })),
    })
  }

  async function route(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname
    if (path === "/health" || path === "/ping") {
      await record(state.stats, req, path)
      return new Response(null, { status: state.faults.healthStatus ?? 200 })
    }
    if (path === "/version") return json({ version: opts.version ?? "0.11.0" })
    if (path === "/load") return json({ server_load: state.stats.inFlight })
    if (path === "/metrics") return metrics()
    if (path.startsWith("/v1/") && opts.apiKey && req.headers.get("authorization") !== `Bearer ${opts.apiKey}`) return json({ error: "Unauthorized" }, { status: 401 })
    if (path === "/v1/models") {
      await record(state.stats, req, path)
      return models()
    }
    if (path === "/v1/chat/completions" && req.method === "POST") return chat(req, path)
    // The chat template applied, then the tokenizer: one token per four characters here.
    if (path === "/tokenize" && req.method === "POST") {
      const body = parseBody(await record(state.stats, req, path)) ?? {}
      const count = Array.isArray(body.messages) ? promptTokens(body) : Math.ceil(String(body.prompt ?? "").length / 4)
      const max = opts.models?.map((m) => (typeof m === "string" ? undefined : m.contextLength)).find((n) => n !== undefined) ?? 32768
      return json({ count, max_model_len: max, tokens: Array.from({ length: count }, (_, i) => 1000 + i) })
    }
    if (path === "/v1/responses" && req.method === "POST") {
      if (!opts.noResponses) return responses(req, path)
      await record(state.stats, req, path)
      const status = opts.noResponses === true ? 404 : opts.noResponses
      return json({ detail: status === 404 ? "Not Found" : status === 405 ? "Method Not Allowed" : "Not Implemented" }, { status })
    }
    if ((path === "/v1/completions" || path === "/v1/embeddings") && req.method === "POST") {
      const body = parseBody(await record(state.stats, req, path)) ?? {}
      const model = String(body.model ?? state.models[0]!.id)
      if (path === "/v1/embeddings") {
        return json({ id: "embd-1", object: "list", created: CREATED, model, data: [{ index: 0, object: "embedding", embedding: [0.1, 0.2, 0.3] }], usage: { prompt_tokens: 2, total_tokens: 2, completion_tokens: 0 } })
      }
      const prompt = promptTokens(body)
      if (body.stream === true && !state.faults.ignoreStream) {
        const t = turn(state, body, false)
        const so = body.stream_options as { include_usage?: boolean } | undefined
        return new Response(completionStream(t, { id: "cmpl-1", created: CREATED, model }, so?.include_usage === true).join(""), { headers: { "content-type": "text/event-stream; charset=utf-8" } })
      }
      return json({ id: "cmpl-1", object: "text_completion", created: CREATED, model, choices: [{ index: 0, text: state.reply, logprobs: null, finish_reason: "stop" }], usage: { prompt_tokens: prompt, completion_tokens: 8, total_tokens: prompt + 8 } })
    }
    return json({ detail: "Not Found" }, { status: 404 })
  }

  // vLLM binds early but only listens once the engine is ready.
  const emu = serve("vllm", opts, state, DEFAULT_MODELS, route, { closed: state.loading })
  return Object.assign(emu, {
    async finishLoading() {
      state.loading = false
      emu.listen()
    },
  })
}

/** vLLM refuses a request whose prompt plus max_tokens exceeds max_model_len. */
function overContext(body: Record<string, unknown>, maxLen: number): string | undefined {
  const max = typeof body.max_tokens === "number" ? body.max_tokens : typeof body.max_completion_tokens === "number" ? body.max_completion_tokens : 0
  const prompt = promptTokens(body)
  if (prompt + max <= maxLen) return undefined
  return `This model's maximum context length is ${maxLen} tokens. However, you requested ${prompt + max} tokens (${prompt} in the messages, ${max} in the completion). Please reduce the length of the messages or completion.`
}
