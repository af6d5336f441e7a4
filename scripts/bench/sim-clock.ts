/**
 * Simulated time for the fleet bench: a Clock that runs `scale` times faster than real
 * time while something happens (a request streams, a model loads), and that jumps over
 * the idle stretches between. Its timers fire in simulated order: a jump stops at each
 * timer due on the way, fires it, and lets the work it started (a load asked for, a
 * probe) get going before moving on, so a jump never moves anything later than it was due.
 */
import type { Clock } from "../../src/core/clock.ts"

interface SimTimer {
  due: number
  seq: number
  fn: () => unknown
}

export interface SimClock extends Clock {
  readonly scale: number
  /** Resolves after `ms` of simulated time. */
  sleep(ms: number): Promise<void>
  /** Jump to `target` (no earlier than now), firing the timers due on the way in order. */
  advanceTo(target: number): Promise<void>
  /**
   * Run `fn` every `ms` while time runs; a jump runs it once, right before the next timer
   * it fires and at its end, however many intervals it skips (a prober: what it would
   * have seen in between, nobody looked at).
   */
  every(ms: number, fn: () => Promise<unknown>): void
  /** Stop the real timer behind the pending ones (the run is over). */
  stop(): void
}

/** Real ms a jump waits after firing a timer, so what it started reaches its server. */
const SETTLE_MS = 2
/** The longest a jump waits, in real ms, for the work a timer returned. */
const WORK_CAP_MS = 1000

export function simClock(startMs: number, scale: number): SimClock {
  let base = startMs
  let realBase = performance.now()
  const timers = new Map<number, SimTimer>()
  let seq = 0
  let real: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  const periodic: { ms: number; next: number; fn: () => Promise<unknown> }[] = []

  const now = () => base + (performance.now() - realBase) * scale
  const setNow = (t: number) => {
    base = t
    realBase = performance.now()
  }

  function earliest(): SimTimer | undefined {
    let first: SimTimer | undefined
    for (const t of timers.values()) if (!first || t.due < first.due || (t.due === first.due && t.seq < first.seq)) first = t
    return first
  }

  /** Run one timer; what it returns, when a promise, is the work it started. */
  function run(t: SimTimer): unknown {
    timers.delete(t.seq)
    try {
      return t.fn()
    } catch {
      return undefined
    }
  }

  /** Start the periodic tasks due by now (not waiting for them); their work, to await. */
  function periodicDue(): Promise<unknown>[] {
    const t = now()
    const started: Promise<unknown>[] = []
    for (const p of periodic) {
      if (p.next > t) continue
      p.next = t + p.ms
      started.push(p.fn().catch(() => {}))
    }
    return started
  }

  const capped = (work: Promise<unknown>[]) => (work.length ? Promise.race([Promise.all(work), Bun.sleep(WORK_CAP_MS)]) : undefined)

  function arm(): void {
    if (real !== undefined) clearTimeout(real)
    real = undefined
    if (stopped) return
    const due = Math.min(earliest()?.due ?? Infinity, ...periodic.map((p) => p.next))
    if (due === Infinity) return
    real = setTimeout(() => {
      real = undefined
      const t = now()
      periodicDue()
      for (let next = earliest(); next && next.due <= t; next = earliest()) run(next)
      arm()
    }, Math.max(0, (due - now()) / scale))
  }

  const clock: SimClock = {
    scale,
    now,
    setTimeout(fn, ms) {
      const t = { due: now() + Math.max(0, ms), seq: ++seq, fn }
      timers.set(t.seq, t)
      arm()
      return t.seq
    },
    clearTimeout(handle) {
      if (timers.delete(handle as number)) arm()
    },
    sleep(ms) {
      return new Promise((resolve) => clock.setTimeout(resolve, ms))
    },
    async advanceTo(target) {
      for (let next = earliest(); next && next.due <= target; next = earliest()) {
        if (next.due > now()) setNow(next.due)
        await capped(periodicDue())
        const started = run(next)
        arm()
        if (started instanceof Promise) await capped([started.catch(() => {})])
        else await Bun.sleep(SETTLE_MS)
      }
      if (target > now()) setNow(target)
      await capped(periodicDue())
      arm()
    },
    every(ms, fn) {
      periodic.push({ ms, next: now() + ms, fn })
      arm()
    },
    stop() {
      stopped = true
      if (real !== undefined) clearTimeout(real)
      timers.clear()
      periodic.length = 0
    },
  }
  return clock
}
