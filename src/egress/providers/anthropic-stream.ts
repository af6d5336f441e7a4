/**
 * An Anthropic Messages stream (named SSE events) read as an OpenAI chat completion
 * stream, event by event as it arrives: text deltas become content deltas, `tool_use`
 * blocks and their `input_json_delta` pieces become streamed `tool_calls`, the stop
 * reason of `message_delta` the finish chunk, and usage (input from `message_start`,
 * output from `message_delta`) a final `choices: []` chunk, as OpenAI sends it with
 * `stream_options.include_usage` (dropped later when the client did not ask for it).
 * @module
 */
import { finishReason, openaiUsage } from "../../core/anthropic-usage.ts"
import { isObject } from "./http.ts"
import { FrameReader, eventData, eventName } from "../../core/frames.ts"
import { frameTooLarge } from "../sse-format.ts"
import { errorEvent } from "../../core/dialect-wire.ts"

interface StreamState {
  id: string
  model: string
  created: number
  usage: Record<string, unknown>
  /** Anthropic block index -> OpenAI tool call index. */
  tools: Map<number, number>
  done: boolean
}

function parseEvent(raw: string): { name?: string; data?: Record<string, unknown> } {
  const name = eventName(raw)
  const data = eventData(raw)
  if (data === undefined) return { name }
  try {
    const v = JSON.parse(data)
    return { name: name ?? (isObject(v) && typeof v.type === "string" ? v.type : undefined), data: isObject(v) ? v : undefined }
  } catch {
    return { name }
  }
}

function chunk(st: StreamState, delta: Record<string, unknown>, finish: string | null = null): string {
  const body = { id: st.id, object: "chat.completion.chunk", created: st.created, model: st.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] }
  return `data: ${JSON.stringify(body)}\n\n`
}

/** The OpenAI events for one Anthropic event ("" when it has no counterpart). */
function translate(st: StreamState, name: string | undefined, d: Record<string, unknown> | undefined): string {
  if (!d) return ""
  switch (name) {
    case "message_start": {
      const m = isObject(d.message) ? d.message : {}
      if (typeof m.id === "string") st.id = m.id
      if (typeof m.model === "string") st.model = m.model
      if (isObject(m.usage)) Object.assign(st.usage, m.usage)
      return chunk(st, { role: "assistant", content: "" })
    }
    case "content_block_start": {
      const b = isObject(d.content_block) ? d.content_block : {}
      if (b.type !== "tool_use") return ""
      const index = st.tools.size
      st.tools.set(Number(d.index), index)
      return chunk(st, { tool_calls: [{ index, id: b.id, type: "function", function: { name: b.name, arguments: "" } }] })
    }
    case "content_block_delta": {
      const delta = isObject(d.delta) ? d.delta : {}
      if (delta.type === "text_delta") return chunk(st, { content: String(delta.text ?? "") })
      if (delta.type === "input_json_delta") {
        const index = st.tools.get(Number(d.index)) ?? 0
        return chunk(st, { tool_calls: [{ index, function: { arguments: String(delta.partial_json ?? "") } }] })
      }
      return "" // thinking and signature deltas have no Chat Completions counterpart
    }
    case "message_delta": {
      if (isObject(d.usage)) Object.assign(st.usage, d.usage)
      const delta = isObject(d.delta) ? d.delta : {}
      const finish = finishReason(delta.stop_reason)
      return finish ? chunk(st, {}, finish) : ""
    }
    case "message_stop": {
      st.done = true
      const usage = openaiUsage(st.usage)
      const body = { id: st.id, object: "chat.completion.chunk", created: st.created, model: st.model, choices: [], usage }
      return `data: ${JSON.stringify(body)}\n\ndata: [DONE]\n\n`
    }
    case "error": {
      const e = isObject(d.error) ? d.error : {}
      return `data: ${JSON.stringify({ error: { message: String(e.message ?? "upstream error"), type: String(e.type ?? "api_error"), param: null, code: null } })}\n\n`
    }
    default:
      return "" // ping, content_block_stop
  }
}

export function translateStream(res: Response, model: string, maxFrameBytes = Infinity): Response {
  const st: StreamState = { id: `msg_${Date.now()}`, model, created: Math.floor(Date.now() / 1000), usage: {}, tools: new Map(), done: false }
  const encoder = new TextEncoder()
  const frames = new FrameReader()
  const translated = (events: Iterable<string>): string => {
    let out = ""
    for (const event of events) {
      const { name, data } = parseEvent(event)
      out += translate(st, name, data)
    }
    return out
  }
  const body = res.body?.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(bytes, controller) {
        const out = translated(frames.events(bytes))
        if (out) controller.enqueue(encoder.encode(out))
        else if (frames.held > maxFrameBytes) {
          controller.enqueue(encoder.encode(errorEvent(frameTooLarge(maxFrameBytes), "frame_too_large")))
          controller.terminate()
          frames.take()
        }
      },
      flush(controller) {
        const rest = frames.end()
        const out = rest.trim() ? translated([rest]) : ""
        if (out) controller.enqueue(encoder.encode(out))
      },
    })
  )
  const headers = new Headers(res.headers)
  headers.set("content-type", "text/event-stream; charset=utf-8")
  headers.delete("content-length")
  return new Response(body ?? null, { status: res.status, headers })
}
