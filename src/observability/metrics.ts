/**
 * Prometheus metrics. One registry per server instance (tests run several in one
 * process), labelled by backend *name* so series survive restarts.
 * @module
 */
import { CachedCounter } from "./counter-cache.ts"
import { CachedHistogram } from "./histogram-cache.ts"
import { Gauge, Registry } from "./prom.ts"
import type { Registry as BackendRegistry } from "../registry/registry.ts"

export type Metrics = ReturnType<typeof createMetrics>

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

export function createMetrics(backends: BackendRegistry) {
  const registry = new Registry()

  const requests = new CachedCounter({
    name: "nexus_requests_total",
    help: "Requests answered, by model, backend and HTTP status.",
    labelNames: ["model", "backend", "status", "stream"] as const,
    registers: [registry],
  })
  const errors = new CachedCounter({
    name: "nexus_errors_total",
    help: "Requests that ended in an error, by kind.",
    labelNames: ["model", "type"] as const,
    registers: [registry],
  })
  const failovers = new CachedCounter({
    name: "nexus_failovers_total",
    help: "Attempts abandoned for the next candidate, by the backend that failed.",
    labelNames: ["backend"] as const,
    registers: [registry],
  })
  const fallbacks = new CachedCounter({
    name: "nexus_fallbacks_total",
    help: "Requests served by a fallback model.",
    labelNames: ["from_model", "to_model"] as const,
    registers: [registry],
  })
  const duration = new CachedHistogram({
    name: "nexus_request_duration_seconds",
    help: "Time from request to the end of the response body.",
    labelNames: ["model", "backend"] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  })
  const ttft = new CachedHistogram({
    name: "nexus_time_to_first_token_seconds",
    help: "Time from request to the first token (streams) or first body byte.",
    labelNames: ["model", "backend"] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  })
  // Clients that leave are normal (a closed laptop, a cancelled completion): counted, not logged as errors.
  const clientDisconnects = new CachedCounter({
    name: "nexus_client_disconnects_total",
    help: "Clients that closed the connection before Nexus answered, by the stage the request was in.",
    labelNames: ["stage"] as const,
    registers: [registry],
  })
  const tokens = new CachedCounter({
    name: "nexus_tokens_total",
    help: "Tokens reported by backends in `usage`.",
    labelNames: ["model", "backend", "type"] as const,
    registers: [registry],
  })

  // Gauges read live state at scrape time, so they can never drift from it.
  new Gauge({
    name: "nexus_backend_in_flight",
    help: "Requests in flight per backend.",
    labelNames: ["backend"] as const,
    registers: [registry],
    collect() {
      this.reset()
      for (const b of backends.list()) this.set({ backend: b.name }, b.stats.inFlight)
    },
  })
  new Gauge({
    name: "nexus_backend_healthy",
    help: "1 when the backend is healthy, 0 otherwise.",
    labelNames: ["backend", "type"] as const,
    registers: [registry],
    collect() {
      this.reset()
      for (const b of backends.list()) this.set({ backend: b.name, type: b.type }, b.status === "healthy" ? 1 : 0)
    },
  })
  new Gauge({
    name: "nexus_models_available",
    help: "Distinct model ids served by at least one healthy backend.",
    registers: [registry],
    collect() {
      const ids = new Set<string>()
      for (const b of backends.list()) if (b.status === "healthy") for (const id of b.models.keys()) ids.add(id)
      this.set(ids.size)
    },
  })

  return { registry, requests, errors, failovers, fallbacks, duration, ttft, tokens, clientDisconnects }
}
