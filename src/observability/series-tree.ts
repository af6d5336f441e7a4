/**
 * Per-series values found by walking one Map per label: repeated label values (the same
 * model and backend strings request after request) cost a few hash lookups and build no
 * label string. The cached counters and histograms keep their series here.
 * @module
 */

export class SeriesTree<V> {
  private readonly root = new Map<string, unknown>()

  /** The value kept for these label values (one per label, in order), if any. */
  get(values: readonly string[]): V | undefined {
    let level: Map<string, unknown> | undefined = this.root
    const last = values.length - 1
    for (let i = 0; i < last && level; i++) level = level.get(values[i]!) as Map<string, unknown> | undefined
    return level?.get(values[last]!) as V | undefined
  }

  /** Keep `value` for these label values. */
  set(values: readonly string[], value: V): V {
    let level = this.root
    const last = values.length - 1
    for (let i = 0; i < last; i++) {
      let next = level.get(values[i]!) as Map<string, unknown> | undefined
      if (!next) level.set(values[i]!, (next = new Map()))
      level = next
    }
    level.set(values[last]!, value)
    return value
  }
}

/** The labels object for label values given in `names` order. */
export function labelsOf<L extends string>(names: readonly L[], values: readonly string[]): Record<L, string> {
  const labels = {} as Record<L, string>
  names.forEach((name, i) => (labels[name] = values[i]!))
  return labels
}
