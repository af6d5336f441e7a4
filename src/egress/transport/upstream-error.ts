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

/** Keys shorter than this are not searched for: they would match ordinary text. */
const MIN_SECRET = 6

/** The backend's key, when it is worth searching for in what the backend says. */
export function secretOf(key: string | undefined): string | undefined {
  return key && key.length >= MIN_SECRET ? key : undefined
}

/**
 * What a backend said, with our key taken out: an upstream that echoes it (`invalid
 * header "Bearer sk-…"`) must not hand it to the client, the log or the dashboard.
 */
export function redactSecret(text: string, key: string | undefined): string {
  const secret = secretOf(key)
  return secret && text.includes(secret) ? text.replaceAll(secret, "[redacted]") : text
}

/**
 * `redactSecret` over a body that arrives in pieces (JSON lines, a JSON document): the
 * last `secret.length - 1` characters wait for the next piece, so a key split between
 * two pieces is still found.
 */
export function secretFilter(secret: string) {
  const hold = secret.length - 1
  let carry = ""
  return {
    push(text: string): string {
      const all = redactSecret(carry + text, secret)
      const cut = Math.max(0, all.length - hold)
      carry = all.slice(cut)
      return all.slice(0, cut)
    },
    flush(): string {
      const rest = carry
      carry = ""
      return rest
    },
  }
}
