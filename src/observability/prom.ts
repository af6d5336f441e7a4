/**
 * Prometheus text exposition (format 0.0.4): counter, histogram and gauge families and
 * the registry that renders them. Our own rather than prom-client's: a labelled series
 * is a cached child found by walking one Map per label, so recording a request builds no
 * label hash string and no labels object (prom-client's `inc({labels})` did both, ~5% of
 * the gateway's CPU samples under load), and scrapes format each series' labels once.
 * The output is prom-client's, line for line, for every value we record.
 * @module
 */

type LabelValue = string | number | boolean
export type Labels<L extends string> = Partial<Record<L, LabelValue>>

export interface CounterChild {
  /** Add `value` (default 1); negative or non-finite values are ignored. */
  inc(value?: number): void
}

export interface HistogramChild {
  /** Record one observation; non-finite values are ignored. */
  observe(value: number): void
}

const text = (v: LabelValue | undefined): string => (typeof v === "string" ? v : v === undefined ? "" : String(v))
const escapeHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")
const escapeLabel = (s: string) => escapeHelp(s).replace(/"/g, '\\"')

/** A sample value as Prometheus writes it. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN"
  if (!Number.isFinite(v)) return v < 0 ? "-Inf" : "+Inf"
  return String(v)
}

/** `name="value",…` for these label names and values (no braces). */
function labelPairs(names: readonly string[], values: readonly string[]): string {
  let out = ""
  for (let i = 0; i < names.length; i++) out += `${i ? "," : ""}${names[i]}="${escapeLabel(values[i]!)}"`
  return out
}

interface Family {
  readonly name: string
  readonly help: string
  readonly type: "counter" | "gauge" | "histogram"
  /** The sample lines, without HELP and TYPE. */
  samples(): string[]
}

export class Registry {
  readonly contentType = "text/plain; version=0.0.4; charset=utf-8"
  private readonly families: Family[] = []

  register(family: Family): void {
    if (this.families.some((f) => f.name === family.name)) throw new Error(`metric ${family.name} is already registered`)
    this.families.push(family)
  }

  /** The whole exposition, every family in the order registered. */
  async metrics(): Promise<string> {
    const blocks = this.families.map((f) => [`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`, ...f.samples()].join("\n"))
    return `${blocks.join("\n\n")}\n`
  }
}

/**
 * Series of one metric, keyed by their label values in `labelNames` order. A lookup walks
 * one Map level per label, so repeated labels (the same model and backend strings request
 * after request) cost a few hash lookups and no allocation.
 */
abstract class LabelledFamily<L extends string, C> implements Family {
  abstract readonly type: "counter" | "histogram"
  private readonly root = new Map<string, unknown>()
  protected readonly series: { labels: string; child: C }[] = []

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[]
  ) {
    registry.register(this)
  }

  protected abstract create(): C
  abstract samples(): string[]

  /** The child for these label values (in `labelNames` order), created on first use. */
  labels(...values: LabelValue[]): C {
    let level = this.root
    const last = this.labelNames.length - 1
    for (let i = 0; i < last; i++) level = this.step(level, text(values[i]))
    return (level.get(text(values[last])) as C | undefined) ?? this.add(level, values.map(text))
  }

  /** The child for a labels object (prom-client's calling convention). */
  protected childFor(labels: Labels<L>): C {
    const names = this.labelNames
    let level = this.root
    const last = names.length - 1
    for (let i = 0; i < last; i++) level = this.step(level, text(labels[names[i]!]))
    return (level.get(text(labels[names[last]!])) as C | undefined) ?? this.add(level, names.map((k) => text(labels[k])))
  }

  private step(level: Map<string, unknown>, key: string): Map<string, unknown> {
    let next = level.get(key) as Map<string, unknown> | undefined
    if (!next) {
      next = new Map()
      level.set(key, next)
    }
    return next
  }

  /** A new series under `level` (the last label's Map), keyed by the last value. */
  private add(level: Map<string, unknown>, values: string[]): C {
    const child = this.create()
    const all = this.labelNames.map((_, i) => values[i] ?? "")
    this.series.push({ labels: labelPairs(this.labelNames, all), child })
    level.set(all[all.length - 1] ?? "", child)
    return child
  }
}

class CounterCell implements CounterChild {
  value = 0
  inc(value = 1): void {
    if (value >= 0 && value !== Infinity) this.value += value
  }
}

export class Counter<L extends string> extends LabelledFamily<L, CounterCell> {
  readonly type = "counter"

  protected create(): CounterCell {
    return new CounterCell()
  }

  /** Increment the series with these labels by `value` (default 1). */
  inc(labels: Labels<L>, value = 1): void {
    this.childFor(labels).inc(value)
  }

  samples(): string[] {
    return this.series.map(({ labels, child }) => `${this.name}${labels ? `{${labels}}` : ""} ${formatValue(child.value)}`)
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

export class Histogram<L extends string> extends LabelledFamily<L, HistogramCell> {
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

  /** Cumulative buckets (`le` first, as prom-client wrote them), +Inf, sum and count. */
  samples(): string[] {
    const out: string[] = []
    for (const { labels, child } of this.series) {
      const rest = labels ? `,${labels}` : ""
      let acc = 0
      for (let i = 0; i < this.buckets.length; i++) {
        acc += child.counts[i]!
        out.push(`${this.name}_bucket{le="${this.buckets[i]}"${rest}} ${formatValue(acc)}`)
      }
      out.push(`${this.name}_bucket{le="+Inf"${rest}} ${formatValue(child.count)}`)
      out.push(`${this.name}_sum${labels ? `{${labels}}` : ""} ${formatValue(child.sum)}`)
      out.push(`${this.name}_count${labels ? `{${labels}}` : ""} ${formatValue(child.count)}`)
    }
    return out
  }
}

/** A gauge read from live state at scrape time: `collect` reports every current series. */
export class Gauge<L extends string> implements Family {
  readonly type = "gauge"

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    private readonly collect: (set: (labels: Labels<L>, value: number) => void) => void
  ) {
    registry.register(this)
  }

  samples(): string[] {
    const out: string[] = []
    this.collect((labels, value) => {
      const pairs = labelPairs(
        this.labelNames,
        this.labelNames.map((k) => text(labels[k]))
      )
      out.push(`${this.name}${pairs ? `{${pairs}}` : ""} ${formatValue(value)}`)
    })
    return out
  }
}
