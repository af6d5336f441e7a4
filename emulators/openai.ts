/**
 * The OpenAI cloud API: `/v1/models` (`owned_by` "system" /
 * "openai"), `x-request-id`, `openai-processing-ms`, `openai-version`, `openai-organization`
 * and `x-ratelimit-*` headers, the `{"error":{message,type,param,code}}` envelope (401
 * `invalid_api_key` or "You didn't provide an API key", 404 `model_not_found`, 400
 * `context_length_exceeded`, 429 `rate_limit_exceeded` with `retry-after`, 5xx
 * `server_error`, `Invalid URL` for unknown routes), chat completions with `refusal` /
 * `annotations` / `service_tier` / `system_fingerprint`, a stream whose first delta is
 * `{"role":"assistant","content":"","refusal":null}`, and with `stream_options.include_usage`
 * `"usage":null` on every chunk plus a final `choices: []` usage chunk before `[DONE]`.
 */
import { admit, CREATED, createState, json, parseBody, randomId, record, serve, streamResponse, retryAfter } from "./common.ts"
import { chatStream, completionStream, message, promptTokens, sse, turn, usage } from "./generate.ts"
import type { Emulator, EmulatorOptions, Faults } from "./types.ts"

export interface OpenaiOptions extends EmulatorOptions {
  /** Value of `openai-organization` (default "user-nexus-emulator"). */
  organization?: string
}

const DEFAULT_MODELS = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
const SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"

export async function startOpenai(opts: OpenaiOptions = {}): Promise<Emulator> {
  const state = createState(opts, DEFAULT_MODELS)
  const org = opts.organization ?? "user-nexus-emulator"
  const error = (status: number, message: string, type: string, code: string | null, param: string | null = null, headers: Record<string, string> = {}) =>
    json({ error: { message, type, param, code } }, { status, headers })

  function unauthorized(req: Request): Response | undefined {
    if (!opts.apiKey) return undefined
    const auth = req.headers.get("authorization") ?? ""
    if (auth === `Bearer ${opts.apiKey}`) return undefined
    if (!auth.startsWith("Bearer ") || auth.length <= 7) {
      return error(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.", "invalid_request_error", null)
    }
    const key = auth.slice(7)
    const masked = key.length > 8 ? `${key.slice(0, 3)}${"*".repeat(key.length - 7)}${key.slice(-4)}` : key
    return error(401, `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`, "invalid_request_error", "invalid_api_key")
  }

  function faultResponse(status: number, model: string, faults: Faults): Response {
    const headers = retryAfter(faults)
    if (status === 429) {
      return error(429, `Rate limit reached for ${model} in organization org-emulator on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms. Visit https://platform.openai.com/account/rate-limits to learn more.`, "requests", "rate_limit_exceeded", null, { ...headers, "x-ratelimit-remaining-requests": "0" })
    }
    if (status === 503) return error(503, "The engine is currently overloaded, please try again later.", "server_error", null, null, headers)
    if (status >= 500) return error(status, SERVER_ERROR, "server_error", null, null, headers)
    return error(status, `Emulated failure ${status}`, "invalid_request_error", null, null, headers)
  }

  async function generate(req: Request, path: string): Promise<Response> {
    const text = await record(state.stats, req, path)
    const body = parseBody(text)
    if (!body) {
      return error(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please make sure to contact us through our help center at help.openai.com.)", "invalid_request_error", null)
    }
    const chat = path === "/v1/chat/completions"
    if (typeof body.model !== "string") return error(400, "you must provide a model parameter", "invalid_request_error", null)
    const required = chat ? "messages" : "input"
    if (path !== "/v1/completions" && body[required] === undefined) return error(400, `Missing required parameter: '${required}'.`, "invalid_request_error", "missing_required_parameter", required)
    const model = body.model
    const m = state.models.find((x) => x.id === model)
    if (!m) return error(404, `The model \`${model}\` does not exist or you do not have access to it.`, "invalid_request_error", "model_not_found")
    const prompt = promptTokens(body)
    const ctx = m.contextLength ?? 128000
    if (prompt > ctx) {
      return error(400, `This model's maximum context length is ${ctx} tokens. However, your messages resulted in ${prompt} tokens. Please reduce the length of the messages.`, "invalid_request_error", "context_length_exceeded", "messages")
    }
    const track = await admit(state, req, text, (status, faults) => faultResponse(status, model, faults))
    if (track instanceof Response) return track
    const gzip = state.faults.gzip
    if (path === "/v1/embeddings") {
      track.done()
      return json({ object: "list", data: [{ object: "embedding", index: 0, embedding: [0.0023064255, -0.009327292, -0.0028842222] }], model, usage: { prompt_tokens: prompt, total_tokens: prompt } }, { gzip })
    }
    const t = turn(state, body)
    const billed = {
      ...usage(t),
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    }
    const fingerprint = "fp_560af6e559"
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true
    if (!chat && body.stream === true && !state.faults.ignoreStream) {
      const events = completionStream(t, { id: `cmpl-${randomId(29, ALNUM)}`, created: CREATED, model }, includeUsage)
      const errorEvents = [sse({ error: { message: SERVER_ERROR, type: "server_error", param: null, code: null } })]
      return streamResponse(state, track, { events, contentStart: 0, errorEvents }, { "content-type": "text/event-stream; charset=utf-8" })
    }
    if (!chat) {
      track.done()
      return json({ id: `cmpl-${randomId(29, ALNUM)}`, object: "text_completion", created: CREATED, model, choices: [{ text: t.reply, index: 0, logprobs: null, finish_reason: "stop" }], usage: usage(t) }, { gzip })
    }
    const id = `chatcmpl-${randomId(29, ALNUM)}`
    if ((body.stream !== true && !state.faults.alwaysStream) || state.faults.ignoreStream) {
      track.done()
      const choice = { index: 0, message: { ...message(t), refusal: null, annotations: [] }, logprobs: null, finish_reason: t.finish }
      return json({ id, object: "chat.completion", created: CREATED, model, choices: [choice], usage: billed, service_tier: "default", system_fingerprint: fingerprint }, { gzip })
    }
    const base = { id, object: "chat.completion.chunk", created: CREATED, model, service_tier: "default", system_fingerprint: fingerprint }
    const frame = (delta: Record<string, unknown>, finish: string | null) => sse({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(includeUsage ? { usage: null } : {}) })
    const { events, contentStart } = chatStream(t, {
      frame,
      lead: [frame({ role: "assistant", content: "", refusal: null }, null)],
      tail: includeUsage ? [sse({ ...base, choices: [], usage: billed })] : [],
    })
    const errorEvents = [sse({ error: { message: SERVER_ERROR, type: "server_error", param: null, code: null } })]
    return streamResponse(state, track, { events, contentStart, errorEvents }, { "content-type": "text/event-stream; charset=utf-8" })
  }

  async function route(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname
    const denied = unauthorized(req)
    if (denied) return denied
    if (path === "/v1/models" && req.method === "GET") {
      await record(state.stats, req, path)
      const hs = state.faults.healthStatus
      if (hs) return faultResponse(hs, "", {})
      return json({ object: "list", data: state.models.map((m) => ({ id: m.id, object: "model", created: CREATED, owned_by: /^(gpt-3\.5|babbage|davinci)/.test(m.id) ? "openai" : "system" })) })
    }
    if (path.startsWith("/v1/models/") && req.method === "GET") {
      const id = decodeURIComponent(path.slice("/v1/models/".length))
      const m = state.models.find((x) => x.id === id)
      if (!m) return error(404, `The model '${id}' does not exist`, "invalid_request_error", "model_not_found", "model")
      return json({ id: m.id, object: "model", created: CREATED, owned_by: "system" })
    }
    if (req.method === "POST" && ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"].includes(path)) return generate(req, path)
    return error(404, `Invalid URL (${req.method} ${path})`, "invalid_request_error", null)
  }

  return serve("openai", opts, state, DEFAULT_MODELS, async (req) => {
    const started = performance.now()
    const res = await route(req)
    res.headers.set("x-request-id", `req_${randomId(32, "0123456789abcdef")}`)
    res.headers.set("openai-organization", org)
    res.headers.set("openai-processing-ms", String(Math.max(1, Math.round(performance.now() - started))))
    res.headers.set("openai-version", "2020-10-01")
    if (!res.headers.has("x-ratelimit-limit-requests")) {
      res.headers.set("x-ratelimit-limit-requests", "10000")
      res.headers.set("x-ratelimit-limit-tokens", "200000")
      if (!res.headers.has("x-ratelimit-remaining-requests")) res.headers.set("x-ratelimit-remaining-requests", "9999")
      res.headers.set("x-ratelimit-remaining-tokens", "199950")
      res.headers.set("x-ratelimit-reset-requests", "8.64s")
      res.headers.set("x-ratelimit-reset-tokens", "15ms")
    }
    return res
  })
}
