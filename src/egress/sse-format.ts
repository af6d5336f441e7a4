/**
 * SSE framing shared by the transport and the providers' quirk fixes.
 * @module
 */

import type { Dialect } from "../core/request.ts"

export const DONE_EVENT = "data: [DONE]\n\n"

/** How a dialect's event stream ends, and how it says that something failed mid-stream. */
export interface StreamFraming {
  /** The event every stream must end with exactly once, if the dialect has one. */
  done?: string
  error(message: string, code: string): string
}

export const FRAMING: Readonly<Record<Dialect, StreamFraming>> = {
  openai: { done: DONE_EVENT, error: (message, code) => errorEvent(message, code) },
  responses: { error: (message, code) => `event: error\ndata: ${JSON.stringify({ type: "error", code, message })}\n\n` },
  anthropic: {
    error: (message) => `event: error\ndata: ${JSON.stringify({ type: "error", error: { type: "api_error", message } })}\n\n`,
  },
  // Ollama streams NDJSON, not SSE: a failure is one more line with an `error` field.
  ollama: { error: (message) => `${JSON.stringify({ error: message })}\n` },
}

/** Why a stream's last event is not forwarded (or assembled): its JSON was cut off. */
export const CUT_OFF = "the backend's stream ended in the middle of an event"

/**
 * Why a stream was ended at an event over `server.max_frame_bytes`. Characters count as
 * bytes: an event of multi-byte text may grow a little larger before it is cut.
 */
export function frameTooLarge(maxBytes: number): string {
  return `The backend sent one event larger than ${maxBytes} bytes (server.max_frame_bytes); the answer was cut short.`
}

/** An OpenAI-style error event, as the openai SDK expects one inside a stream. */
export function errorEvent(message: string, code: string, type = "server_error"): string {
  return `data: ${JSON.stringify({ error: { message, type, param: null, code } })}\n\n`
}

const CHUNK_LABEL = /"object":\s*"chat\.completion"/

/**
 * Some servers (exo, llamafile v2) label stream chunks `chat.completion`; strict clients
 * want `chat.completion.chunk`. Only the label changes, every other byte stays.
 */
export function relabelChunk(event: string): string | undefined {
  return event.includes('"chat.completion"') && event.startsWith("data:")
    ? event.replace(CHUNK_LABEL, '"object":"chat.completion.chunk"')
    : undefined
}

/** The JSON payload of a single-line `data:` event, or undefined. */
export function dataPayload(event: string): string | undefined {
  if (!event.startsWith("data:")) return undefined
  return event.slice(event.charCodeAt(5) === 0x20 ? 6 : 5).trimEnd()
}
