/**
 * Errors by kind, not by status. One map turns a kind into an HTTP status; each client
 * dialect renders the error in its own shape (the OpenAI envelope, Anthropic's, …).
 * @module
 */

export type ErrorKind =
  | "invalid_request"
  | "authentication"
  | "permission"
  | "not_found"
  | "unknown_route"
  | "method_not_allowed"
  | "request_timeout"
  | "conflict"
  | "too_large"
  /** A body in a media type the route does not take (415). */
  | "unsupported_media_type"
  /** A Host header that names some other server (421): DNS rebinding, or a missing allowed_hosts entry. */
  | "misdirected"
  | "unprocessable"
  | "rate_limited"
  | "client_closed"
  | "internal"
  | "upstream_failed"
  | "unavailable"
  | "timeout"
  /** A backend's own 4xx: the client's problem, passed on with the backend's status. */
  | "upstream_rejected"

/** The one place where kinds become statuses. */
export const STATUS_OF: Readonly<Record<ErrorKind, number>> = {
  invalid_request: 400,
  authentication: 401,
  permission: 403,
  not_found: 404,
  unknown_route: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  misdirected: 421,
  unprocessable: 422,
  rate_limited: 429,
  client_closed: 499,
  internal: 500,
  upstream_failed: 502,
  unavailable: 503,
  timeout: 504,
  upstream_rejected: 400,
}

export interface NexusErrorInit {
  kind: ErrorKind
  message: string
  /** A machine-readable code (`model_not_found`, `queue_full`, …). */
  code?: string | null
  /** The request field at fault. */
  param?: string | null
  /** What was tried and what would fix it. */
  context?: Record<string, unknown>
  /** When the client may try again (429, 503). */
  retryAfterSeconds?: number
  /** Only for `upstream_rejected`: the backend's own status. */
  status?: number
  /** Headers the answer carries whatever the dialect (rate-limit state, …). */
  headers?: Record<string, string>
}

export class NexusError extends Error {
  readonly kind: ErrorKind
  readonly status: number
  readonly code: string | null
  readonly param: string | null
  readonly context?: Record<string, unknown>
  readonly retryAfterSeconds?: number
  readonly headers?: Record<string, string>

  constructor(init: NexusErrorInit) {
    super(init.message)
    this.name = "NexusError"
    this.kind = init.kind
    this.status = init.kind === "upstream_rejected" && init.status ? init.status : STATUS_OF[init.kind]
    this.code = init.code ?? null
    this.param = init.param ?? null
    this.context = init.context
    this.retryAfterSeconds = init.retryAfterSeconds
    this.headers = init.headers
  }
}
