/**
 * `GET /health`, `GET /metrics` and `GET /v1/stats`: how the gateway and its
 * backends are doing, for people, load balancers and Prometheus.
 * @module
 */
import { Hono } from "hono"
import { VERSION } from "../version.ts"
import type { AppDeps, Env } from "./deps.ts"
import { requireViewer, type ViewerDeps } from "./viewer.ts"

export function healthSummary(deps: Pick<AppDeps, "keys" | "metrics" | "registry" | "spend" | "stats">) {
  const backends = deps.registry.list()
  const count = (s: string) => backends.filter((b) => b.status === s).length
  const healthy = count("healthy")
  const models = new Set<string>()
  for (const b of backends) if (b.status === "healthy") for (const id of b.models.keys()) models.add(id)
  const ledger = deps.spend.ledgerHealth()
  const all = backends.length > 0 && healthy === backends.length ? "healthy" : healthy > 0 ? "degraded" : "unhealthy"
  // Spend that cannot be read or saved is a guarantee that cannot be checked: said here.
  const status = all === "healthy" && ledger.status !== "ok" ? "degraded" : all
  return {
    status,
    version: VERSION,
    uptime_seconds: Math.floor((Date.now() - deps.stats.startedAt) / 1000),
    backends: {
      total: backends.length,
      healthy,
      unhealthy: count("unhealthy"),
      loading: count("loading"),
      unknown: count("unknown"),
      draining: count("draining"),
    },
    models: models.size,
    spend_ledger: ledger,
  }
}

export function healthRoutes(deps: ViewerDeps & Parameters<typeof healthSummary>[0]) {
  const app = new Hono<Env>()

  // Always 200 while the process serves: "unhealthy" describes the backends, and a
  // supervisor restarting Nexus would not bring a dead GPU box back.
  app.get("/health", (c) => c.json(healthSummary(deps)))

  app.get("/metrics", async (c) => {
    const text = await deps.metrics.registry.metrics()
    return c.body(text, 200, { "content-type": deps.metrics.registry.contentType })
  })

  app.get("/v1/stats", (c) => {
    requireViewer(deps, c)
    const { totals, models } = deps.stats
    return c.json({
      uptime_seconds: Math.floor((Date.now() - deps.stats.startedAt) / 1000),
      requests: { total: totals.requests, success: totals.success, errors: totals.errors, streams: totals.streams },
      backends: deps.registry.list().map((b) => ({
        id: b.id,
        name: b.name,
        type: b.type,
        status: b.status,
        requests: b.stats.requests,
        errors: b.stats.errors,
        in_flight: b.stats.inFlight,
        ttft_ewma_ms: b.stats.ttftEwmaMs === undefined ? null : Math.round(b.stats.ttftEwmaMs * 10) / 10,
        probe_latency_ms: b.stats.probeLatencyMs === undefined ? null : Math.round(b.stats.probeLatencyMs * 10) / 10,
        models: b.models.size,
      })),
      models: [...models].map(([name, m]) => ({
        name,
        requests: m.requests,
        errors: m.errors,
        average_duration_ms: m.requests ? Math.round((m.totalDurationMs / m.requests) * 10) / 10 : 0,
        prompt_tokens: m.promptTokens,
        completion_tokens: m.completionTokens,
      })),
      budget: deps.spend.stats(),
      keys: deps.keys.table.list().map(deps.keys.usage.view),
    })
  })
  return app
}
