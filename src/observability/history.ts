/**
 * Recent traffic for the dashboard: the last requests (newest first), a 15-minute series
 * in fixed buckets (requests, errors, tokens, latency percentiles) and each backend's
 * average request latency. A subscriber of the requests bus; memory is bounded.
 * @module
 */
import type { RequestRecord, SeriesPoint } from "../core/events.ts"

export type { SeriesPoint }

export interface HistoryOptions {
  /** Requests kept (default 100). */
  size?: number
  bucketMs?: number
  windowMs?: number
  now?: () => number
}

interface Bucket {
  t: number
  requests: number
  errors: number
  tokens: number
  latencies: number[]
}

/** Latency samples kept per bucket: enough for a p95, bounded under a flood. */
const SAMPLES = 2000
/** Weight of a new sample in a backend's latency average. */
const ALPHA = 0.2

export type History = ReturnType<typeof createHistory>

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

export function createHistory(opts: HistoryOptions = {}) {
  const size = opts.size ?? 100
  const bucketMs = opts.bucketMs ?? 10_000
  const count = Math.ceil((opts.windowMs ?? 15 * 60_000) / bucketMs)
  const now = opts.now ?? Date.now
  // A ring: the newest record overwrites the oldest, with no shifting per request.
  const ring: RequestRecord[] = []
  let next = 0
  const buckets = new Map<number, Bucket>()
  const latency = new Map<string, number>()

  function bucketAt(t: number): Bucket {
    const start = Math.floor(t / bucketMs) * bucketMs
    let b = buckets.get(start)
    if (!b) {
      b = { t: start, requests: 0, errors: 0, tokens: 0, latencies: [] }
      buckets.set(start, b)
      const oldest = start - count * bucketMs
      for (const k of buckets.keys()) if (k <= oldest) buckets.delete(k)
    }
    return b
  }

  return {
    bucketMs,
    record(r: RequestRecord): void {
      ring[next] = r
      next = (next + 1) % size
      // Counted when it finished, which is when it shows up on a live chart.
      const b = bucketAt(r.at + r.latencyMs)
      b.requests++
      if (r.status >= 400 || r.midStreamError) b.errors++
      b.tokens += r.usage?.completion_tokens ?? 0
      if (b.latencies.length < SAMPLES) b.latencies.push(r.latencyMs)
      if (r.backend && r.status < 400) {
        const old = latency.get(r.backend)
        latency.set(r.backend, old === undefined ? r.latencyMs : old + ALPHA * (r.latencyMs - old))
      }
    },
    /** The last requests, newest first. */
    recent(): readonly RequestRecord[] {
      const out: RequestRecord[] = []
      for (let i = 1; i <= ring.length; i++) out.push(ring[(next - i + size) % size]!)
      return out
    },
    /** One point per bucket over the window, oldest first, empty buckets included. */
    series(): SeriesPoint[] {
      const last = Math.floor(now() / bucketMs) * bucketMs
      const out: SeriesPoint[] = []
      for (let t = last - (count - 1) * bucketMs; t <= last; t += bucketMs) {
        const b = buckets.get(t)
        const sorted = b ? [...b.latencies].sort((x, y) => x - y) : []
        out.push({ t, requests: b?.requests ?? 0, errors: b?.errors ?? 0, tokens: b?.tokens ?? 0, p50: percentile(sorted, 50), p95: percentile(sorted, 95) })
      }
      return out
    },
    /** Average latency of the backend's successful requests, ms (a moving average). */
    latencyOf(backend: string): number | undefined {
      return latency.get(backend)
    },
  }
}
