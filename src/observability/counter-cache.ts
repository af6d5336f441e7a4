/**
 * Counters the request path adds to through a cached cell. prom-client's own `inc()`
 * validates every label, builds a label hash string and allocates on each call, which
 * under load cost more than the counting itself. Totals are kept here, one cell per
 * label set, and handed to prom-client's counter when
 * it is scraped (its `collect` hook), so the exposition stays prom-client's own.
 * @module
 */
import { Counter, type Registry } from "./prom.ts"
import { labelsOf, SeriesTree } from "./series-tree.ts"

export interface Cell {
  value: number
}

export class CachedCounter<L extends string> {
  private readonly tree = new SeriesTree<Cell>()
  private readonly cells: { labels: Record<L, string>; cell: Cell }[] = []

  private readonly labelNames: readonly L[]

  /** prom-client's counter options. */
  constructor(opts: { name: string; help: string; labelNames: readonly L[]; registers: Registry[] }) {
    this.labelNames = opts.labelNames
    const cells = this.cells
    new Counter({
      ...opts,
      collect() {
        this.reset()
        for (const { labels, cell } of cells) this.inc(labels, cell.value)
      },
    })
  }

  /** The cell for these label values, in `labelNames` order, created on first use. */
  at(...values: string[]): Cell {
    return this.tree.get(values) ?? this.create(values)
  }

  private create(values: string[]): Cell {
    const cell: Cell = { value: 0 }
    this.cells.push({ labels: labelsOf(this.labelNames, values), cell })
    return this.tree.set(values, cell)
  }

  /** prom-client's calling convention; negative and non-finite amounts are ignored. */
  inc(labels: Record<L, string>, value = 1): void {
    if (!(value >= 0 && value < Infinity)) return
    this.at(...this.labelNames.map((name) => labels[name])).value += value
  }
}
