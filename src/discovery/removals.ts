/**
 * Backends withdrawn over mDNS, each forgotten at its deadline unless advertised again
 * first. The deadlines are kept, not just the timers, so a restart of discovery (a reload)
 * carries them over and none stays out of rotation for ever.
 * @module
 */
import type { Clock } from "../core/clock.ts"

export interface Removals {
  /** Forget `id` at `at` (epoch ms) unless cancelled by then. */
  schedule(id: string, at: number): void
  cancel(id: string): void
  /** Each pending removal's deadline. */
  pending(): Map<string, number>
  clear(): void
}

export function createRemovals(clock: Clock, due: (id: string) => void): Removals {
  const removals = new Map<string, { timer: unknown; at: number }>()
  const cancel = (id: string) => {
    const r = removals.get(id)
    if (r) clock.clearTimeout(r.timer)
    removals.delete(id)
  }
  return {
    schedule(id, at) {
      cancel(id)
      const timer = clock.setTimeout(() => {
        removals.delete(id)
        due(id)
      }, Math.max(0, at - clock.now()))
      removals.set(id, { timer, at })
    },
    cancel,
    pending: () => new Map([...removals].map(([id, r]) => [id, r.at])),
    clear() {
      for (const r of removals.values()) clock.clearTimeout(r.timer)
      removals.clear()
    },
  }
}
