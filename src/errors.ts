/**
 * Errors in the OpenAI envelope, the only shape our clients parse:
 * `{"error":{"message","type","param","code"}}`, plus an optional `context` that says
 * what was tried and what would fix it.
 * @module
 */

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
  context?: Record<string, unknown>
}

export interface ApiErrorInit {
  status: number
  message: string
  type?: string
  code?: string | null
  param?: string | null
  context?: Record<string, unknown>
  headers?: Record<string, string>
}

/** A failure that becomes an HTTP response; thrown or returned by handlers. */
export class ApiError extends Error {
  readonly status: number
  readonly type: string
  readonly code: string | null
  readonly param: string | null
  readonly context?: Record<string, unknown>
  readonly headers?: Record<string, string>

  constructor(init: ApiErrorInit) {
    super(init.message)
    this.name = "ApiError"
    this.status = init.status
    this.type = init.type ?? defaultType(init.status)
    this.code = init.code ?? null
    this.param = init.param ?? null
    this.context = init.context
    this.headers = init.headers
  }

  toJSON(): ErrorBody {
    const body: ErrorBody = {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    }
    if (this.context) body.context = this.context
    return body
  }

  toResponse(extraHeaders?: Headers | Record<string, string>): Response {
    const headers = new Headers(extraHeaders)
    headers.set("content-type", "application/json")
    for (const [k, v] of Object.entries(this.headers ?? {})) headers.set(k, v)
    return new Response(JSON.stringify(this.toJSON()), { status: this.status, headers })
  }
}

function defaultType(status: number): string {
  if (status === 401) return "authentication_error"
  if (status === 403) return "permission_error"
  if (status === 404) return "not_found_error"
  if (status === 429) return "rate_limit_error"
  if (status < 500) return "invalid_request_error"
  return "server_error"
}
