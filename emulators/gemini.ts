/**
 * Google Gemini's OpenAI-compatible endpoint, under
 * `/v1beta/openai/`: Bearer key, `GET models` with `models/`-prefixed ids, chat
 * completions that accept the id with or without the prefix, `stream_options.include_usage`
 * honoured, and errors as Google RPC status objects wrapped in a JSON array.
 */
import { admit, CREATED, createState, json, parseBody, randomId, record, retryAfter, serve, streamResponse } from "./common.ts"
import { chatStream, message, sse, turn, usage } from "./generate.ts"
import type { Emulator, EmulatorOptions, Faults } from "./types.ts"

const DEFAULT_MODELS = ["gemini-2.5-flash", "gemini-2.5-pro"]
const BASE = "/v1beta/openai"
const STATUS: Record<number, string> = { 400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE" }

export async function startGemini(opts: EmulatorOptions = {}): Promise<Emulator> {
  const state = createState(opts, DEFAULT_MODELS)
  const error = (code: number, message: string, headers: Record<string, string> = {}) =>
    json([{ error: { code, message, status: STATUS[code] ?? "UNKNOWN" } }], { status: code, headers })

  function refused(req: Request): Response | undefined {
    if (!opts.apiKey) return undefined
    const auth = req.headers.get("authorization") ?? ""
    if (auth === `Bearer ${opts.apiKey}`) return undefined
    return error(auth ? 400 : 401, auth ? "API key not valid. Please pass a valid API key." : "Missing bearer authentication in header")
  }

  const faultResponse = (status: number, faults: Faults) => error(status, status === 429 ? "Resource has been exhausted (e.g. check quota)." : `Emulated failure ${status}`, retryAfter(faults))

  async function chat(req: Request, path: string): Promise<Response> {
    const text = await record(state.stats, req, path)
    const body = parseBody(text)
    if (!body) return error(400, "Invalid JSON payload received.")
    const model = typeof body.model === "string" ? body.model.replace(/^models\//, "") : ""
    if (!state.models.some((m) => m.id === model)) return error(404, `models/${model} is not found for API version v1main, or is not supported for generateContent.`)
    const track = await admit(state, req, text, faultResponse)
    if (track instanceof Response) return track
    const t = turn(state, body)
    const id = randomId(28)
    if (body.stream !== true) {
      track.done()
      return json({ id, object: "chat.completion", created: CREATED, model, choices: [{ index: 0, message: message(t), finish_reason: t.finish }], usage: usage(t) })
    }
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true
    const base = { id, object: "chat.completion.chunk", created: CREATED, model }
    const frame = (delta: Record<string, unknown>, finish: string | null) => sse({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })
    const { events, contentStart } = chatStream(t, { frame, role: "first", finish: null, tail: includeUsage ? [sse({ ...base, choices: [], usage: usage(t) })] : [] })
    return streamResponse(state, track, { events, contentStart, errorEvents: [] }, { "content-type": "text/event-stream" })
  }

  async function route(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname
    const denied = refused(req)
    if (denied) {
      await record(state.stats, req, path)
      return denied
    }
    if (path === `${BASE}/models` && req.method === "GET") {
      await record(state.stats, req, path)
      if (state.faults.healthStatus) return faultResponse(state.faults.healthStatus, {})
      return json({ object: "list", data: state.models.map((m) => ({ id: `models/${m.id}`, object: "model", owned_by: "google" })) })
    }
    if (path === `${BASE}/chat/completions` && req.method === "POST") return chat(req, path)
    return error(404, `Method not found: ${path}`)
  }

  return serve("gemini", opts, state, DEFAULT_MODELS, route)
}
