/**
 * SSE framing shared by the transport and the providers' quirk fixes.
 * @module
 */

/** Why a stream's last event is not forwarded (or assembled): its JSON was cut off. */
export const CUT_OFF = "the backend's stream ended in the middle of an event"

/**
 * Why a stream was ended at an event over `server.max_frame_bytes`. Characters count as
 * bytes: an event of multi-byte text may grow a little larger before it is cut.
 */
export function frameTooLarge(maxBytes: number): string {
  return `The backend sent one event larger than ${maxBytes} bytes (server.max_frame_bytes); the answer was cut short.`
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
