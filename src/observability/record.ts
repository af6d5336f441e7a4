/**
 * Finished requests, as records: built once from the outcome, then read by metrics,
 * stats and the log line (and anything else that subscribes to the request events).
 * @module
 */
import type { RequestRecord } from "../core/events.ts"
import type { RequestOutcome } from "../core/outcome.ts"
import type { Dialect, Operation } from "../core/request.ts"
import type { Logger } from "./log.ts"
import type { Metrics } from "./metrics.ts"
import type { Stats } from "./stats.ts"

export interface RequestContext {
  requestId: string
  dialect: Dialect
  operation?: Operation
  model: string
  stream: boolean
  /** performance.now() when the request arrived. */
  started: number
  routeReason?: string
}

export function toRecord(ctx: RequestContext, outcome: RequestOutcome): RequestRecord {
  const latencyMs = performance.now() - ctx.started
  return {
    requestId: ctx.requestId,
    at: Date.now() - latencyMs,
    dialect: ctx.dialect,
    operation: ctx.operation,
    model: ctx.model,
    servedModel: outcome.model,
    backend: outcome.backend?.name,
    status: outcome.status,
    stream: ctx.stream,
    latencyMs,
    ttftMs: outcome.ttftMs,
    usage: outcome.usage,
    routeReason: ctx.routeReason,
    fallbackFrom: outcome.fallbackFrom,
    failures: outcome.failures,
    error: outcome.error,
    clientAborted: outcome.clientAborted,
    midStreamError: outcome.midStreamError,
    // Set later by whoever knows them; present from the start so that setting them
    // does not change the record's shape on every request.
    costUsd: undefined,
    costEstimated: undefined,
    errorCode: undefined,
    key: undefined,
  }
}

/**
 * The record of a request Nexus answered itself, before any backend was tried: its own
 * 400s, 404s, 405s, no-backend 503s, queue rejections, and clients that left (499).
 */
export function answeredByNexus(ctx: RequestContext, status: number, error: { code?: string | null; kind?: string; message: string }): RequestRecord {
  const record = toRecord(ctx, { status, failures: [], error: error.message, clientAborted: status === 499, midStreamError: false })
  record.errorCode = error.code ?? error.kind ?? "error"
  return record
}

function errorType(r: RequestRecord): string {
  if (r.clientAborted) return "client_disconnect"
  if (r.errorCode !== undefined) return "rejected"
  if (r.midStreamError) return "mid_stream"
  if (r.status === 504) return "timeout"
  return r.status >= 500 ? "backend_error" : "upstream_client_error"
}

/** The subscriber that turns each record into metrics, stats and one log line. */
export function observeRequests(deps: { metrics: Metrics; stats: Stats; log: Logger }): (r: RequestRecord) => void {
  const { metrics, stats, log } = deps
  return (r) => {
    const backend = r.backend ?? "none"
    // A rejected request's model is whatever the client typed: kept out of metric labels
    // (unbounded series), still in the log line and on the dashboard.
    const model = r.errorCode !== undefined ? "none" : (r.servedModel ?? r.model)
    const ok = r.status < 400 && !r.midStreamError && !r.clientAborted
    const prompt = r.usage?.prompt_tokens ?? 0
    const completion = r.usage?.completion_tokens ?? 0

    metrics.requests.at(model, backend, String(r.status), r.stream ? "true" : "false").value++
    const series = [model, backend]
    metrics.duration.observe(series, r.latencyMs / 1000)
    if (r.ttftMs !== undefined) metrics.ttft.observe(series, r.ttftMs / 1000)
    if (prompt > 0) metrics.tokens.at(model, backend, "prompt").value += prompt
    if (completion > 0) metrics.tokens.at(model, backend, "completion").value += completion
    for (const f of r.failures) metrics.failovers.inc({ backend: f.backend })
    if (r.fallbackFrom) metrics.fallbacks.inc({ from_model: r.fallbackFrom, to_model: model })
    if (!ok) metrics.errors.inc({ model, type: errorType(r) })
    stats.record(model, ok, r.latencyMs, r.stream, prompt, completion)

    // The fields object is the costliest part of a line: skip it when the line is not written.
    if (!log.enabled(ok ? "info" : "warn")) return
    const fields = {
      request_id: r.requestId,
      key: r.key,
      model: r.model,
      actual_model: r.servedModel && r.servedModel !== r.model ? r.servedModel : undefined,
      backend,
      status: r.status,
      stream: r.stream,
      latency_ms: Math.round(r.latencyMs * 10) / 10,
      ttft_ms: r.ttftMs === undefined ? undefined : Math.round(r.ttftMs * 10) / 10,
      tokens_prompt: r.usage?.prompt_tokens,
      tokens_completion: r.usage?.completion_tokens,
      cost_usd: r.costUsd,
      route_reason: r.routeReason,
      retries: r.failures.length || undefined,
      failed_backends: r.failures.length ? r.failures.map((f) => f.backend).join(",") : undefined,
      error: r.error,
      error_code: r.errorCode,
      client_aborted: r.clientAborted || undefined,
    }
    if (ok) log.info("request", fields)
    else log.warn("request", fields)
  }
}
