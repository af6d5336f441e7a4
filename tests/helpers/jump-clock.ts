/**
 * A clock that runs at real speed and that a test can jump forward: timers fire on time
 * as usual, and a jump fires at once, in deadline order, every timer the jump has made
 * due. Processes that must also talk to real peers (mDNS probes, health checks) keep
 * working, while a grace period or a re-query interval is skipped instead of waited out.
 */
import type { Clock } from "../../src/core/clock.ts"

export interface JumpClock extends Clock {
  jump(ms: number): void
}

export function jumpClock(): JumpClock {
  let offset = 0
  const pending = new Map<object, { at: number; fn: () => void; real: ReturnType<typeof setTimeout> }>()
  const now = () => Date.now() + offset
  const fire = (handle: object) => {
    const timer = pending.get(handle)
    if (!timer) return
    clearTimeout(timer.real)
    pending.delete(handle)
    timer.fn()
  }
  return {
    now,
    setTimeout(fn, ms) {
      const handle = {}
      pending.set(handle, { at: now() + ms, fn, real: setTimeout(() => fire(handle), ms) })
      return handle
    },
    clearTimeout(handle) {
      const timer = pending.get(handle as object)
      if (timer) clearTimeout(timer.real)
      pending.delete(handle as object)
    },
    jump(ms) {
      offset += ms
      const due = [...pending].filter(([, t]) => t.at <= now()).sort((a, b) => a[1].at - b[1].at)
      for (const [handle] of due) fire(handle)
    },
  }
}
