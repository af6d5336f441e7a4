/**
 * prom-client histograms the request path observes through a cached series. Its own
 * `observe()` builds a closure and a label/value pair, validates every label and hashes
 * them into a string on every call. Here the first observation of a label set goes
 * through prom-client's `observe()`, which creates the series; its entry is kept, and
 * later observations add to it what prom-client would have added (the bucket, the sum,
 * the count). prom-client formats the exposition as ever.
 * @module
 */
import { Histogram, type Registry } from "./prom.ts"

/** A series as prom-client keeps it (`hashMap` values). */
interface Entry {
  labels: Record<string, string>
  sum: number
  count: number
  bucketValues: Record<number, number>
}

type Internals = { hashMap: Record<string, Entry> }

export class CachedHistogram<L extends string> {
  private readonly histogram: InstanceType<typeof Histogram>
  private readonly root = new Map<string, unknown>()
  private readonly bounds: readonly number[]

  constructor(private readonly opts: { name: string; help: string; labelNames: readonly L[]; buckets: number[]; registers: Registry[] }) {
    this.histogram = new Histogram(opts)
    this.bounds = [...opts.buckets].sort((a, b) => a - b)
  }

  /** Observe `value` for these label values, in `labelNames` order; non-finite values are ignored. */
  observe(values: readonly string[], value: number): void {
    if (!Number.isFinite(value)) return
    let level = this.root
    const last = values.length - 1
    for (let i = 0; i < last; i++) {
      let next = level.get(values[i]!) as Map<string, unknown> | undefined
      if (!next) level.set(values[i]!, (next = new Map()))
      level = next
    }
    const entry = level.get(values[last]!) as Entry | undefined
    if (!entry) return this.first(level, values, value)
    entry.sum += value
    entry.count += 1
    for (const bound of this.bounds) {
      if (value <= bound) {
        entry.bucketValues[bound]! += 1
        return
      }
    }
  }

  /** prom-client creates the series; later observations find its entry here. */
  private first(level: Map<string, unknown>, values: readonly string[], value: number): void {
    const labels = {} as Record<L, string>
    this.opts.labelNames.forEach((name, i) => (labels[name] = values[i]!))
    this.histogram.observe(labels, value)
    const entries = Object.values((this.histogram as unknown as Internals).hashMap)
    const entry = entries.find((e) => this.opts.labelNames.every((name) => e.labels[name] === labels[name]))
    if (entry) level.set(values[values.length - 1]!, entry)
  }
}
