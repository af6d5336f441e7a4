/**
 * Errors turned into answers, for every route: a NexusError in the request's dialect, a
 * client that left (counted, logged at debug, never a bug), anything else as our own
 * 500 logged as a bug. Each becomes the request's one record unless forward() made it.
 * @module
 */
import { NexusError } from "../core/errors.ts"
import { openaiErrorResponse } from "../ingress/openai/errors.ts"
import { answeredByNexus } from "../observability/record.ts"
import { release } from "./auth.ts"
import { ClientClosed, isAbort } from "./body.ts"
import type { AppDeps } from "./deps.ts"
import { rejectionHeader } from "./plan-error.ts"
import type { RequestScope } from "./scope.ts"

/** The text of an error for the log; Bun's DOMExceptions have an empty stack. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  return err.stack && err.stack.includes(err.message) ? err.stack : `${err.name}: ${err.message}${err.stack ? `\n${err.stack}` : ""}`
}

/** What answering an error uses of the gateway. */
export type ErrorDeps = Pick<AppDeps, "keys" | "log" | "metrics" | "requests" | "spend">

export function answerError(deps: ErrorDeps, scope: RequestScope, err: unknown): Response {
  const requestId = scope.requestId
  if (err instanceof NexusError) {
    if (err.kind === "client_closed") clientClosed(deps, scope, "queue")
    record(deps, scope, err.kind === "client_closed" ? 499 : err.status, err)
    const render = scope.dialect?.error ?? openaiErrorResponse
    return render(err, { "x-request-id": requestId, ...rejectionHeader(err), ...deps.spend.headers(), ...err.headers })
  }
  if (err instanceof ClientClosed || (isAbort(err) && scope.req.signal.aborted)) {
    clientClosed(deps, scope, err instanceof ClientClosed ? err.stage : "handler")
    record(deps, scope, 499, { code: "client_closed", message: "client closed the request" })
    // Nobody is left to read it; the server still wants a response.
    return openaiErrorResponse(new NexusError({ kind: "client_closed", message: "client closed the request", code: "client_closed" }))
  }
  deps.log.error("unhandled error (a bug in Nexus)", { request_id: requestId, path: scope.path, error: describeError(err) })
  const internal = new NexusError({ kind: "internal", message: "Internal error in Nexus", code: "internal_error" })
  record(deps, scope, internal.status, internal)
  return (scope.dialect?.error ?? openaiErrorResponse)(internal, { "x-request-id": requestId })
}

/**
 * The one record of a request Nexus answered itself (metrics, stats, the log line and
 * the dashboard all read it); none when forward() already reports the request.
 */
export function record(deps: ErrorDeps, scope: RequestScope, status: number, err: { code?: string | null; kind?: string; message: string }): void {
  if (scope.recorded) return
  scope.recorded = true
  release(deps, scope)
  const ctx = {
    requestId: scope.requestId,
    dialect: scope.dialect?.dialect ?? "openai",
    operation: scope.dialect?.operation,
    model: scope.asked?.model ?? "",
    stream: scope.asked?.stream ?? false,
    started: scope.started,
  }
  const r = answeredByNexus(ctx, status, err)
  r.key = scope.key?.name
  deps.requests.emit(r)
}

/** A client that leaves is counted and noted at debug level: one per request, never an error. */
function clientClosed(deps: ErrorDeps, scope: RequestScope, stage: ClientClosed["stage"]): void {
  deps.metrics.clientDisconnects.inc({ stage })
  deps.log.debug("client closed the connection", { request_id: scope.requestId, path: scope.path, stage })
}
