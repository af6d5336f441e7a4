/**
 * Incremental reading of an OpenAI-style SSE stream. Events are forwarded as whole
 * events, as soon as they are complete, with their original bytes; we only look
 * inside to learn time to first token, usage and errors, and to make every stream
 * end with exactly one `data: [DONE]`, whatever the backend did.
 * @module
 */
import { readUsage, type Usage } from "./usage.ts"

export const DONE_EVENT = "data: [DONE]\n\n"
const CHUNK_LABEL = /"object":\s*"chat\.completion"/

export interface SseObservation {
  /** A data event other than [DONE] has been seen (the first token has arrived). */
  sawData: boolean
  sawDone: boolean
  usage?: Usage
  /** Message of an error event the backend sent mid-stream. */
  upstreamError?: string
}

/**
 * Split decoded text into complete events and a remainder, observing each event.
 * Returns the text to forward now (complete events, `[DONE]` de-duplicated, and
 * foreign `error:` fields turned into `data:` errors the client libraries understand).
 */
export function createSseReader() {
  let pending = ""
  const seen: SseObservation = { sawData: false, sawDone: false }

  function inspect(event: string): string {
    // Fast path: one `data: {json}` line, the overwhelming majority.
    if (event.startsWith("data:")) {
      const payload = event.slice(event.charCodeAt(5) === 0x20 ? 6 : 5).trimEnd()
      if (payload === "[DONE]") {
        if (seen.sawDone) return ""
        seen.sawDone = true
        return DONE_EVENT
      }
      if (seen.sawDone) return "" // nothing may follow [DONE]
      seen.sawData = true
      let out = event
      if (payload.includes('"usage"') || payload.includes('"error"')) {
        const fixed = observeJson(payload)
        if (fixed) out = `data: ${fixed}`
      }
      // exo labels stream chunks "chat.completion"; strict clients want ".chunk".
      if (out.includes('"chat.completion"')) out = out.replace(CHUNK_LABEL, '"object":"chat.completion.chunk"')
      return `${out}\n\n`
    }
    if (event.startsWith(":") || event.trim() === "") return seen.sawDone ? "" : `${event}\n\n`
    // llamafile's legacy server reports errors in an `error:` field that SDKs drop.
    const errorLine = /^error: ?(.*)$/m.exec(event)
    if (errorLine && !/^data:/m.test(event)) {
      const raw = errorLine[1] ?? ""
      let message = raw
      try {
        const parsed = JSON.parse(raw) as { message?: string; error?: { message?: string } }
        message = parsed.message ?? parsed.error?.message ?? raw
      } catch {
        // not JSON: keep the raw text as the message
      }
      seen.upstreamError = message
      return errorEvent(message, "upstream_error")
    }
    // Multi-line events (event:/id:/data: mixes) pass through untouched.
    if (/^data:/m.test(event)) seen.sawData = true
    return seen.sawDone ? "" : `${event}\n\n`
  }

  /** Record usage and errors; returns a replacement payload when the event must change. */
  function observeJson(payload: string): string | undefined {
    try {
      const body = JSON.parse(payload) as Record<string, unknown>
      const usage = readUsage(body)
      if (usage) seen.usage = usage
      if (body.error !== undefined && body.error !== null) {
        const e = body.error as { message?: unknown } | string
        seen.upstreamError = typeof e === "string" ? e : String(e.message ?? "upstream error")
        // LM Studio (and others) send `"error": "text"`; SDKs expect the OpenAI object.
        if (typeof e === "string") return JSON.stringify({ error: { message: e, type: "upstream_error", param: null, code: null } })
      }
    } catch {
      // Not JSON: forwarded as is; the client decides.
    }
    return undefined
  }

  return {
    seen,
    /**
     * Feed decoded text; returns what is ready to forward (possibly ""). When every
     * complete event passes unchanged, the returned string is the input's own slice,
     * so the caller can forward the original bytes.
     */
    push(text: string): string {
      const buf = pending + (text.includes("\r") ? text.replace(/\r\n?/g, "\n") : text)
      const cut = buf.lastIndexOf("\n\n")
      if (cut === -1) {
        pending = buf
        return ""
      }
      pending = buf.slice(cut + 2)
      let out = ""
      let changed = false
      let start = 0
      while (start <= cut) {
        let end = buf.indexOf("\n\n", start)
        if (end === -1 || end > cut) end = cut
        if (end > start) {
          const event = buf.slice(start, end)
          const forwarded = inspect(event)
          if (forwarded.length !== event.length + 2) changed = true
          out += forwarded
        } else changed = true // an empty event (extra blank line): dropped
        start = end + 2
      }
      return changed ? out : buf.slice(0, cut + 2)
    },

    /** End of upstream: forward a trailing partial event, then guarantee one [DONE]. */
    finish(): string {
      let out = ""
      if (pending.trim()) out += inspect(pending.replace(/\n+$/, ""))
      pending = ""
      if (!seen.sawDone) {
        seen.sawDone = true
        out += DONE_EVENT
      }
      return out
    },
  }
}

/** An OpenAI-style error event, as the openai SDK expects one inside a stream. */
export function errorEvent(message: string, code: string, type = "server_error"): string {
  return `data: ${JSON.stringify({ error: { message, type, param: null, code } })}\n\n`
}
