/**
 * SSE framing shared by the transport and the providers' quirk fixes.
 * @module
 */

export const DONE_EVENT = "data: [DONE]\n\n"

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
