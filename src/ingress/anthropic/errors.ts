/**
 * Errors in Anthropic's envelope, `{"type":"error","error":{"type","message"}}`, with its
 * error types, so the Anthropic SDKs raise `NotFoundError`, `RateLimitError`, … and
 * Claude Code shows the message.
 * @module
 */
import type { ErrorKind, NexusError } from "../../core/errors.ts"
import type { StreamFraming } from "../../core/dialect-wire.ts"

const TYPE_OF: Partial<Record<ErrorKind, string>> = {
  authentication: "authentication_error",
  permission: "permission_error",
  not_found: "not_found_error",
  unknown_route: "not_found_error",
  too_large: "request_too_large",
  rate_limited: "rate_limit_error",
  unavailable: "overloaded_error",
  timeout: "timeout_error",
}

export function anthropicErrorType(err: Pick<NexusError, "kind" | "status">): string {
  const known = TYPE_OF[err.kind]
  if (known) return known
  if (err.status === 404) return "not_found_error"
  if (err.status === 429) return "rate_limit_error"
  return err.status < 500 ? "invalid_request_error" : "api_error"
}

export function anthropicErrorResponse(err: NexusError, extraHeaders?: Record<string, string>): Response {
  const headers: Record<string, string> = { "content-type": "application/json", ...extraHeaders }
  if (err.retryAfterSeconds !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(err.retryAfterSeconds)))
  const body: Record<string, unknown> = { type: "error", error: { type: anthropicErrorType(err), message: anthropicMessage(err) } }
  if (extraHeaders?.["x-request-id"]) body.request_id = extraHeaders["x-request-id"]
  return new Response(JSON.stringify(body), { status: err.status, headers })
}

/**
 * Anthropic's own sentence for a prompt over the window, to the letter: Claude Code
 * matches it exactly and compacts the conversation, where any other text ends the turn.
 */
function anthropicMessage(err: NexusError): string {
  const ctx = err.context
  if (err.code === "context_length_exceeded" && typeof ctx?.prompt_tokens === "number" && typeof ctx.context_length === "number") {
    return `prompt is too long: ${ctx.prompt_tokens} tokens > ${ctx.context_length} maximum`
  }
  return err.message
}

/** The in-stream error event (the SDK throws it from the iterator). */
export function anthropicErrorEvent(message: string, type = "api_error"): string {
  return `event: error\ndata: ${JSON.stringify({ type: "error", error: { type, message } })}\n\n`
}

/** Anthropic's stream has no end marker: message_stop is the backend's to send. */
export const anthropicFraming: StreamFraming = { error: (message) => anthropicErrorEvent(message) }
