/**
 * Per-series values found by walking one Map per label: repeated label values (the same
 * model and backend strings request after request) cost a few hash lookups and build no
 * label string. The cached counters and histograms keep their series here.
 * @module
 */

export class SeriesTree<V> {
  private readonly root = new Map<string, unknown>()

  /** The value for these label values (one per label, in order), made by `create` on first use. */
  get(values: readonly string[], create: () => V | undefined): V | undefined {
    let level = this.root
    const last = values.length - 1
    for (let i = 0; i < last; i++) {
      let next = level.get(values[i]!) as Map<string, unknown> | undefined
      if (!next) level.set(values[i]!, (next = new Map()))
      level = next
    }
    let value = level.get(values[last]!) as V | undefined
    if (value === undefined) {
      value = create()
      if (value !== undefined) level.set(values[last]!, value)
    }
    return value
  }
}

/** The labels object for label values given in `names` order. */
export function labelsOf<L extends string>(names: readonly L[], values: readonly string[]): Record<L, string> {
  const labels = {} as Record<L, string>
  names.forEach((name, i) => (labels[name] = values[i]!))
  return labels
}
