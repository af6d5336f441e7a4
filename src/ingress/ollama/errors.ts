/**
 * Errors as Ollama writes them, `{"error": "…"}`, which ollama-js, Open WebUI and
 * Continue read (any other shape reaches the user as `[object Object]`).
 * @module
 */
import type { NexusError } from "../../core/errors.ts"
import type { StreamFraming } from "../../core/dialect-wire.ts"

export function ollamaErrorResponse(err: NexusError, extraHeaders?: Record<string, string>): Response {
  const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8", ...extraHeaders }
  if (err.retryAfterSeconds !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(err.retryAfterSeconds)))
  return new Response(JSON.stringify({ error: err.message }), { status: err.status, headers })
}

/** The line that ends an NDJSON stream that failed after it started. */
export function ollamaErrorLine(message: string): string {
  return `${JSON.stringify({ error: message })}\n`
}

/** Ollama streams NDJSON, not SSE: a failure is one more line with an `error` field. */
export const ollamaFraming: StreamFraming = { lines: true, error: (message) => ollamaErrorLine(message) }
