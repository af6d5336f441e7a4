/**
 * The Anthropic Messages API: `x-api-key` (or an OAuth
 * Bearer) and a required `anthropic-version` header, `POST /v1/messages` (also with
 * `?beta=true`) answering a `message` with content blocks, `stop_reason` and usage in
 * Anthropic's shape, or a stream of named events (`message_start`, `content_block_start`,
 * `ping`, `content_block_delta` with `text_delta` / `input_json_delta`,
 * `content_block_stop`, `message_delta` with the stop reason and output usage,
 * `message_stop`; no `[DONE]`; `event: error` mid-stream), `/v1/messages/count_tokens`,
 * `GET /v1/models`, system turns inside `messages` once a user turn came first
 * (mid-conversation system messages), and errors as `{"type":"error","error":{type,message},"request_id"}`
 * (429 `rate_limit_error` with `retry-after`, 529 `overloaded_error`). Prompt caching: the
 * messages up to the last content block marked `cache_control` are a cacheable prefix when
 * they reach 1024 tokens; the first request writes it (`cache_creation_input_tokens`), a
 * later one with the same prefix reads it (`cache_read_input_tokens`), and `input_tokens`
 * counts only the rest.
 */
import { admit, createState, json, parseBody, randomId, record, retryAfter, serve, streamResponse } from "./common.ts"
import { pieces, promptTokens, turn } from "./generate.ts"
import type { Emulator, EmulatorOptions, Faults } from "./types.ts"

const DEFAULT_MODELS = ["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"]
const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
}

function named(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}

/** Anthropic's prompt counting is its own; the emulator bills system text too. */
function inputTokens(body: Record<string, unknown>): number {
  const messages = Array.isArray(body.messages) ? body.messages : []
  const flat = messages.map((m) => {
    const c = (m as { content?: unknown }).content
    return { content: Array.isArray(c) ? c.filter((b) => b?.type === "text") : c }
  })
  const system = typeof body.system === "string" ? Math.ceil(body.system.length / 4) : 0
  return promptTokens({ messages: flat }) + system
}

/** The messages up to and including the last one holding a `cache_control` block. */
function cachePrefix(body: Record<string, unknown>): unknown[] {
  const messages = Array.isArray(body.messages) ? body.messages : []
  const marked = (m: unknown) => {
    const c = (m as { content?: unknown })?.content
    return Array.isArray(c) && c.some((b) => typeof b === "object" && b !== null && "cache_control" in b)
  }
  for (let i = messages.length - 1; i >= 0; i--) if (marked(messages[i])) return messages.slice(0, i + 1)
  return []
}

const MIN_CACHEABLE_TOKENS = 1024

/**
 * Roles as the API checks them: user and assistant turns, and system turns in the middle
 * of the conversation (after a user turn; instructions that come first go in `system`).
 */
function rolesError(messages: unknown[]): string | undefined {
  let sawUser = false
  for (const [i, m] of messages.entries()) {
    const role = (m as { role?: unknown })?.role
    if (role !== "user" && role !== "assistant" && role !== "system") return `messages.${i}.role: Input should be 'user', 'assistant' or 'system'`
    if (role === "system" && !sawUser) return `messages.${i}: a system message must follow a user message; use the top-level system parameter for initial instructions`
    sawUser ||= role === "user"
  }
  return undefined
}

export async function startAnthropic(opts: EmulatorOptions = {}): Promise<Emulator> {
  const state = createState(opts, DEFAULT_MODELS)
  const promptCache = new Set<string>()

  /** Input tokens split the way the API bills them: fresh, written to the cache, read from it. */
  function billedInput(body: Record<string, unknown>): { input_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number } {
    const total = inputTokens(body)
    const prefix = cachePrefix(body)
    const cacheable = prefix.length ? inputTokens({ system: body.system, messages: prefix }) : 0
    if (cacheable < MIN_CACHEABLE_TOKENS) return { input_tokens: total, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }
    const key = JSON.stringify([body.model, body.system, prefix])
    const hit = promptCache.has(key)
    promptCache.add(key)
    return { input_tokens: total - cacheable, cache_creation_input_tokens: hit ? 0 : cacheable, cache_read_input_tokens: hit ? cacheable : 0 }
  }
  const requestId = () => `req_${randomId(24, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")}`
  const error = (status: number, message: string, headers: Record<string, string> = {}) =>
    json({ type: "error", error: { type: ERROR_TYPES[status] ?? "api_error", message }, request_id: requestId() }, { status, headers })

  function refused(req: Request): Response | undefined {
    if (opts.apiKey) {
      const key = req.headers.get("x-api-key") ?? req.headers.get("authorization")?.replace(/^Bearer /, "")
      if (!key) return error(401, "x-api-key header is required")
      if (key !== opts.apiKey) return error(401, "invalid x-api-key")
    }
    if (!req.headers.get("anthropic-version")) return error(400, "anthropic-version: header is required")
    return undefined
  }

  function faultResponse(status: number, faults: Faults): Response {
    const messages: Record<number, string> = { 429: "Number of request tokens has exceeded your per-minute rate limit", 529: "Overloaded", 500: "Internal server error" }
    return error(status, messages[status] ?? `Emulated failure ${status}`, retryAfter(faults))
  }

  async function messages(req: Request, path: string): Promise<Response> {
    const text = await record(state.stats, req, path)
    const body = parseBody(text)
    if (!body) return error(400, "There was an error parsing the body of your request")
    if (typeof body.model !== "string") return error(400, "model: Field required")
    if (typeof body.max_tokens !== "number") return error(400, "max_tokens: Field required")
    if (!Array.isArray(body.messages)) return error(400, "messages: Field required")
    const roles = rolesError(body.messages)
    if (roles) return error(400, roles)
    const model = body.model
    if (!state.models.some((m) => m.id === model)) return error(404, `model: ${model}`)
    const track = await admit(state, req, text, faultResponse)
    if (track instanceof Response) return track
    const t = turn(state, body)
    const id = `msg_${randomId(24, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")}`
    const calls = t.calls.map((c) => ({ id: `toolu_${c.id.slice(5)}`, name: c.name, input: JSON.parse(c.arguments), pieces: c.pieces }))
    const stop = calls.length ? "tool_use" : "end_turn"
    const usage = { ...billedInput(body), output_tokens: t.completion, service_tier: "standard" }
    if (body.stream !== true) {
      track.done()
      const content = calls.length ? calls.map(({ pieces: _p, ...c }) => ({ type: "tool_use", ...c })) : [{ type: "text", text: t.reply }]
      return json({ id, type: "message", role: "assistant", model, content, stop_reason: stop, stop_sequence: null, usage })
    }
    const events = [
      named("message_start", { type: "message_start", message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } }),
    ]
    if (calls.length) {
      calls.forEach((c, index) => {
        events.push(named("content_block_start", { type: "content_block_start", index, content_block: { type: "tool_use", id: c.id, name: c.name, input: {} } }))
        for (const p of c.pieces) events.push(named("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: p } }))
        events.push(named("content_block_stop", { type: "content_block_stop", index }))
      })
    } else {
      events.push(named("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }))
      events.push(`event: ping\ndata: {"type": "ping"}\n\n`)
      for (const p of t.parts.length ? t.parts : pieces(t.reply, 1)) events.push(named("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: p } }))
      events.push(named("content_block_stop", { type: "content_block_stop", index: 0 }))
    }
    events.push(named("message_delta", { type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: t.completion } }))
    events.push(named("message_stop", { type: "message_stop" }))
    const errorEvents = [named("error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } })]
    return streamResponse(state, track, { events, contentStart: 1, errorEvents }, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" })
  }

  async function route(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname
    const denied = refused(req)
    if (denied) {
      await record(state.stats, req, path)
      return denied
    }
    if (path === "/v1/models" && req.method === "GET") {
      await record(state.stats, req, path)
      const hs = state.faults.healthStatus
      if (hs) return faultResponse(hs, {})
      const data = state.models.map((m) => ({ type: "model", id: m.id, display_name: m.id, created_at: "2025-09-29T00:00:00Z" }))
      return json({ data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null })
    }
    if (path === "/v1/messages/count_tokens" && req.method === "POST") {
      const body = parseBody(await record(state.stats, req, path))
      return body ? json({ input_tokens: inputTokens(body) }) : error(400, "There was an error parsing the body of your request")
    }
    if (path === "/v1/messages" && req.method === "POST") return messages(req, path)
    return error(404, "Not found")
  }

  return serve("anthropic", opts, state, DEFAULT_MODELS, async (req) => {
    const res = await route(req)
    if (!res.headers.has("request-id")) res.headers.set("request-id", requestId())
    res.headers.set("anthropic-ratelimit-requests-limit", "4000")
    res.headers.set("anthropic-ratelimit-requests-remaining", "3999")
    return res
  })
}
