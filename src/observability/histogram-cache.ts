/**
 * prom-client histograms the request path observes through a cached series. Its own
 * `observe()` builds a closure and a label/value pair, validates every label and hashes
 * them into a string on every call. Here prom-client creates each label set's series
 * (`zero()`); its entry is kept, and observations add to it what prom-client's own would
 * have added (the bucket, the sum, the count). prom-client formats the exposition.
 * @module
 */
import { Histogram, type Registry } from "./prom.ts"
import { labelsOf, SeriesTree } from "./series-tree.ts"

/** A series as prom-client keeps it (`hashMap` values). */
interface Entry {
  labels: Record<string, string>
  sum: number
  count: number
  bucketValues: Record<string, number>
}

type Internals = { hashMap: Record<string, Entry> }

export class CachedHistogram<L extends string> {
  private readonly histogram: InstanceType<typeof Histogram>
  private readonly tree = new SeriesTree<Entry>()
  private readonly bounds: readonly number[]
  /** prom-client keys buckets by the bound as a property name: made once, not per observation. */
  private readonly keys: readonly string[]

  constructor(private readonly opts: { name: string; help: string; labelNames: readonly L[]; buckets: number[]; registers: Registry[] }) {
    this.histogram = new Histogram(opts)
    this.bounds = [...opts.buckets].sort((a, b) => a - b)
    this.keys = this.bounds.map(String)
  }

  /** Observe `value` for these label values, in `labelNames` order; non-finite values are ignored. */
  observe(values: readonly string[], value: number): void {
    if (!Number.isFinite(value)) return
    const entry = this.tree.get(values) ?? this.create(values)
    if (!entry) return
    entry.sum += value
    entry.count += 1
    const bounds = this.bounds
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        entry.bucketValues[this.keys[i]!]! += 1
        return
      }
    }
  }

  /** prom-client creates the series (`zero()`, empty); observations then add to its entry. */
  private create(values: readonly string[]): Entry | undefined {
    const labels = labelsOf(this.opts.labelNames, values)
    this.histogram.zero(labels)
    const entries = Object.values((this.histogram as unknown as Internals).hashMap)
    const entry = entries.find((e) => this.opts.labelNames.every((name) => e.labels[name] === labels[name]))
    return entry && this.tree.set(values, entry)
  }
}
