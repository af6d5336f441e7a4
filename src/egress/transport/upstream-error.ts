/**
 * Reading a backend's error answer, whatever dialect it is in.
 * @module
 */

/**
 * The message of an upstream error body, whatever dialect it is in: OpenAI's nested
 * envelope, vLLM's flat one, a bare string `error` (LM Studio, vLLM 401), Gemini's
 * array-wrapped RPC status, or plain text.
 */
export function upstreamMessage(text: string): string {
  const trimmed = text.trim()
  if (!trimmed) return ""
  try {
    let body = JSON.parse(trimmed) as unknown
    if (Array.isArray(body)) body = body[0]
    if (typeof body === "object" && body !== null) {
      const b = body as Record<string, unknown>
      const e = b.error
      if (typeof e === "string") return e
      if (typeof e === "object" && e !== null) {
        const m = (e as Record<string, unknown>).message
        if (typeof m === "string") return m
      }
      if (typeof b.message === "string") return b.message
      if (typeof b.detail === "string") return b.detail
    }
  } catch {
    // plain text
  }
  return trimmed.slice(0, 1000)
}
