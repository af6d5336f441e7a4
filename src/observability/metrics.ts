/**
 * Prometheus metrics. One registry per server instance (tests run several in one
 * process), labelled by backend *name* so series survive restarts.
 *
 * Per-request counters and histograms are our own small families: each labelled series
 * is a cached child found by walking one Map per label, so recording a request builds
 * no label hash string and no labels object (prom-client's `inc({labels})` did both, and
 * was ~5% of the gateway's CPU under load). prom-client's Registry still formats the
 * exposition, and the gauges, computed at scrape time, stay prom-client's.
 * @module
 */
import { Gauge, Registry, type Metric } from "./prom.ts"
import type { Registry as BackendRegistry } from "../registry/registry.ts"

export type Metrics = ReturnType<typeof createMetrics>

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

type LabelValue = string | number | boolean
type Labels<L extends string> = Partial<Record<L, LabelValue>>

export interface CounterChild {
  /** Add `value` (default 1); negative or non-finite values are ignored. */
  inc(value?: number): void
}

export interface HistogramChild {
  /** Record one observation; non-finite values are ignored. */
  observe(value: number): void
}

/** A value as it appears in a label and in the cache key. */
const text = (v: LabelValue | undefined): string => (typeof v === "string" ? v : v === undefined ? "" : String(v))

/**
 * Series of one metric, keyed by their label values in `labelNames` order. A lookup walks
 * one Map level per label, so repeated labels (the same model and backend string objects
 * request after request) cost a few hash lookups and no allocation.
 */
abstract class Family<L extends string, C> {
  readonly aggregator = "sum"
  private readonly root = new Map<string, unknown>()
  protected readonly series: { labels: Record<string, string>; child: C }[] = []

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[]
  ) {
    registry.registerMetric(this as unknown as Metric)
  }

  protected abstract create(): C

  /** The child for these label values (in `labelNames` order), created on first use. */
  labels(...values: LabelValue[]): C {
    let level = this.root
    const last = this.labelNames.length - 1
    for (let i = 0; i < last; i++) {
      const key = text(values[i])
      let next = level.get(key) as Map<string, unknown> | undefined
      if (!next) {
        next = new Map()
        level.set(key, next)
      }
      level = next
    }
    const key = text(values[last])
    const found = level.get(key) as C | undefined
    if (found) return found
    const child = this.create()
    const labels: Record<string, string> = {}
    for (let i = 0; i <= last; i++) labels[this.labelNames[i]!] = text(values[i])
    this.series.push({ labels, child })
    level.set(key, child)
    return child
  }

  /** The child for a labels object (prom-client's calling convention). */
  protected childFor(labels: Labels<L>): C {
    const n = this.labelNames
    switch (n.length) {
      case 1:
        return this.labels(labels[n[0]!]!)
      case 2:
        return this.labels(labels[n[0]!]!, labels[n[1]!]!)
      case 3:
        return this.labels(labels[n[0]!]!, labels[n[1]!]!, labels[n[2]!]!)
      default:
        return this.labels(...n.map((k) => labels[k]!))
    }
  }

  reset(): void {
    this.root.clear()
    this.series.length = 0
  }
}

class CounterCell implements CounterChild {
  value = 0
  inc(value = 1): void {
    if (value >= 0 && value !== Infinity) this.value += value
  }
}

export class CounterFamily<L extends string> extends Family<L, CounterCell> {
  readonly type = "counter"

  protected create(): CounterCell {
    return new CounterCell()
  }

  /** Increment the series with these labels by `value` (default 1). */
  inc(labels: Labels<L>, value = 1): void {
    this.childFor(labels).inc(value)
  }

  /** In the shape prom-client's Registry formats. */
  async get() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.series.map(({ labels, child }) => ({ labels, value: child.value })),
    }
  }
}

class HistogramCell implements HistogramChild {
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return
    const b = this.bounds
    let i = 0
    while (i < b.length && value > b[i]!) i++
    this.counts[i]!++
    this.sum += value
    this.count++
  }
}

export class HistogramFamily<L extends string> extends Family<L, HistogramCell> {
  readonly type = "histogram"

  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly L[],
    readonly buckets: readonly number[]
  ) {
    super(registry, name, help, labelNames)
  }

  protected create(): HistogramCell {
    return new HistogramCell(this.buckets)
  }

  observe(labels: Labels<L>, value: number): void {
    this.childFor(labels).observe(value)
  }

  /** Cumulative buckets, +Inf, sum and count per series, labelled as prom-client does. */
  async get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = []
    const bucket = `${this.name}_bucket`
    for (const { labels, child } of this.series) {
      let acc = 0
      for (let i = 0; i < this.buckets.length; i++) {
        acc += child.counts[i]!
        values.push({ labels: { le: this.buckets[i]!, ...labels }, value: acc, metricName: bucket })
      }
      values.push({ labels: { le: "+Inf", ...labels }, value: child.count, metricName: bucket })
      values.push({ labels, value: child.sum, metricName: `${this.name}_sum` })
      values.push({ labels, value: child.count, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }
}

export function createMetrics(backends: BackendRegistry) {
  const registry = new Registry()

  const requests = new CounterFamily(registry, "nexus_requests_total", "Requests answered, by model, backend and HTTP status.", [
    "model",
    "backend",
    "status",
    "stream",
  ] as const)
  const errors = new CounterFamily(registry, "nexus_errors_total", "Requests that ended in an error, by kind.", ["model", "type"] as const)
  const failovers = new CounterFamily(
    registry,
    "nexus_failovers_total",
    "Attempts abandoned for the next candidate, by the backend that failed.",
    ["backend"] as const
  )
  const fallbacks = new CounterFamily(registry, "nexus_fallbacks_total", "Requests served by a fallback model.", ["from_model", "to_model"] as const)
  const duration = new HistogramFamily(
    registry,
    "nexus_request_duration_seconds",
    "Time from request to the end of the response body.",
    ["model", "backend"] as const,
    DURATION_BUCKETS
  )
  const ttft = new HistogramFamily(
    registry,
    "nexus_time_to_first_token_seconds",
    "Time from request to the first token (streams) or first body byte.",
    ["model", "backend"] as const,
    DURATION_BUCKETS
  )
  const tokens = new CounterFamily(registry, "nexus_tokens_total", "Tokens reported by backends in `usage`.", ["model", "backend", "type"] as const)

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

  return { registry, requests, errors, failovers, fallbacks, duration, ttft, tokens }
}
