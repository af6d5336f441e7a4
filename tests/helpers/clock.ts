/**
 * A clock a test moves by hand: `advance` runs the timers that fall due, in order, each
 * at its own time, so a week of the gateway's minute-by-minute schedules takes no real time.
 */
import type { Clock } from "../../src/core/clock.ts"

export interface TestClock extends Clock {
  /** Move time forward by `ms`, running each timer as it falls due. */
  advance(ms: number): void
  /** Move time forward to `t` (epoch ms). */
  advanceTo(t: number): void
}

export function testClock(start: number): TestClock {
  let now = start
  let seq = 0
  const timers = new Map<number, { at: number; fn: () => void }>()
  function advanceTo(end: number): void {
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined
      for (const e of timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e
      if (!next) break
      timers.delete(next[0])
      now = Math.max(now, next[1].at)
      next[1].fn()
    }
    now = Math.max(now, end)
  }
  return {
    now: () => now,
    setTimeout(fn, ms) {
      timers.set(++seq, { at: now + Math.max(0, ms), fn })
      return seq
    },
    clearTimeout(handle) {
      timers.delete(handle as number)
    },
    advance: (ms) => advanceTo(now + ms),
    advanceTo,
  }
}
