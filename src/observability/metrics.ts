/**
 * Prometheus metrics. One registry per server instance (tests run several in one
 * process), labelled by backend *name* so series survive restarts.
 *
 * Counters and histograms are recorded per request: `family.labels(...values)` returns a
 * cached child (keep it when the labels repeat); `family.inc({labels})` and
 * `family.observe({labels}, v)` find the same child from a labels object. Gauges read
 * live state at scrape time, so they can never drift from it.
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "./prom.ts"
import type { Registry as BackendRegistry } from "../registry/registry.ts"

export type { CounterChild, HistogramChild } from "./prom.ts"
export type Metrics = ReturnType<typeof createMetrics>

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

export function createMetrics(backends: BackendRegistry) {
  const registry = new Registry()

  const requests = new Counter(registry, "nexus_requests_total", "Requests answered, by model, backend and HTTP status.", [
    "model",
    "backend",
    "status",
    "stream",
  ] as const)
  const errors = new Counter(registry, "nexus_errors_total", "Requests that ended in an error, by kind.", ["model", "type"] as const)
  const failovers = new Counter(
    registry,
    "nexus_failovers_total",
    "Attempts abandoned for the next candidate, by the backend that failed.",
    ["backend"] as const
  )
  const fallbacks = new Counter(registry, "nexus_fallbacks_total", "Requests served by a fallback model.", ["from_model", "to_model"] as const)
  const duration = new Histogram(
    registry,
    "nexus_request_duration_seconds",
    "Time from request to the end of the response body.",
    ["model", "backend"] as const,
    DURATION_BUCKETS
  )
  const ttft = new Histogram(
    registry,
    "nexus_time_to_first_token_seconds",
    "Time from request to the first token (streams) or first body byte.",
    ["model", "backend"] as const,
    DURATION_BUCKETS
  )
  const tokens = new Counter(registry, "nexus_tokens_total", "Tokens reported by backends in `usage`.", ["model", "backend", "type"] as const)

  new Gauge(registry, "nexus_backend_in_flight", "Requests in flight per backend.", ["backend"] as const, (set) => {
    for (const b of backends.list()) set({ backend: b.name }, b.stats.inFlight)
  })
  new Gauge(registry, "nexus_backend_healthy", "1 when the backend is healthy, 0 otherwise.", ["backend", "type"] as const, (set) => {
    for (const b of backends.list()) set({ backend: b.name, type: b.type }, b.status === "healthy" ? 1 : 0)
  })
  new Gauge(registry, "nexus_models_available", "Distinct model ids served by at least one healthy backend.", [], (set) => {
    const ids = new Set<string>()
    for (const b of backends.list()) if (b.status === "healthy") for (const id of b.models.keys()) ids.add(id)
    set({}, ids.size)
  })

  return { registry, requests, errors, failovers, fallbacks, duration, ttft, tokens }
}
