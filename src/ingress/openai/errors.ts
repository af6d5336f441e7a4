/**
 * Errors in the OpenAI envelope, the shape OpenAI clients parse:
 * `{"error":{"message","type","param","code"}}`, plus an optional `context` that says
 * what was tried and what would fix it.
 * @module
 */
import type { ErrorKind, NexusError } from "../../core/errors.ts"

const TYPE_OF: Partial<Record<ErrorKind, string>> = {
  authentication: "authentication_error",
  permission: "permission_error",
  rate_limited: "rate_limit_error",
}

/** OpenAI's `type` for an error: its own words for a few kinds, else by status class. */
export function openaiErrorType(err: Pick<NexusError, "kind" | "status">): string {
  return TYPE_OF[err.kind] ?? (err.status < 500 ? "invalid_request_error" : "server_error")
}

export function openaiErrorBody(err: NexusError): Record<string, unknown> {
  const body: Record<string, unknown> = {
    error: { message: err.message, type: openaiErrorType(err), param: err.param, code: err.code },
  }
  if (err.context) body.context = err.context
  return body
}

export function openaiErrorResponse(err: NexusError, extraHeaders?: Record<string, string>): Response {
  const headers: Record<string, string> = { "content-type": "application/json", ...extraHeaders }
  if (err.retryAfterSeconds !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(err.retryAfterSeconds)))
  return new Response(JSON.stringify(openaiErrorBody(err)), { status: err.status, headers })
}
