/**
 * One place where a finished request turns into metrics, stats and its log line.
 * @module
 */
import type { RequestOutcome } from "../core/outcome.ts"
import type { Logger } from "./log.ts"
import type { Metrics } from "./metrics.ts"
import type { Stats } from "./stats.ts"

export interface RequestContext {
  requestId: string
  model: string
  stream: boolean
  started: number
  routeReason: string
}

export function recordOutcome(
  deps: { metrics: Metrics; stats: Stats; log: Logger },
  ctx: RequestContext,
  outcome: RequestOutcome
): void {
  const { metrics, stats, log } = deps
  const durationMs = performance.now() - ctx.started
  const backend = outcome.backend?.name ?? "none"
  const model = outcome.model ?? ctx.model
  const ok = outcome.status < 400 && !outcome.midStreamError && !outcome.clientAborted
  const prompt = outcome.usage?.prompt_tokens ?? 0
  const completion = outcome.usage?.completion_tokens ?? 0

  metrics.requests.inc({ model, backend, status: String(outcome.status), stream: String(ctx.stream) })
  metrics.duration.observe({ model, backend }, durationMs / 1000)
  if (outcome.ttftMs !== undefined) metrics.ttft.observe({ model, backend }, outcome.ttftMs / 1000)
  if (prompt) metrics.tokens.inc({ model, backend, type: "prompt" }, prompt)
  if (completion) metrics.tokens.inc({ model, backend, type: "completion" }, completion)
  for (const f of outcome.failures) metrics.failovers.inc({ backend: f.backend })
  if (outcome.fallbackFrom) {
    metrics.fallbacks.inc({ from_model: outcome.fallbackFrom, to_model: model })
  }
  if (!ok) {
    const type = outcome.clientAborted
      ? "client_disconnect"
      : outcome.midStreamError
        ? "mid_stream"
        : outcome.status === 504
          ? "timeout"
          : outcome.status >= 500
            ? "backend_error"
            : "upstream_client_error"
    metrics.errors.inc({ model, type })
  }
  stats.record(model, ok, durationMs, ctx.stream, prompt, completion)

  const fields = {
    request_id: ctx.requestId,
    model: ctx.model,
    actual_model: model !== ctx.model ? model : undefined,
    backend,
    status: outcome.status,
    stream: ctx.stream,
    latency_ms: Math.round(durationMs * 10) / 10,
    ttft_ms: outcome.ttftMs === undefined ? undefined : Math.round(outcome.ttftMs * 10) / 10,
    tokens_prompt: outcome.usage?.prompt_tokens,
    tokens_completion: outcome.usage?.completion_tokens,
    route_reason: ctx.routeReason,
    retries: outcome.failures.length || undefined,
    failed_backends: outcome.failures.length ? outcome.failures.map((f) => f.backend).join(",") : undefined,
    error: outcome.error,
    client_aborted: outcome.clientAborted || undefined,
  }
  if (ok) log.info("request", fields)
  else log.warn("request", fields)
}
