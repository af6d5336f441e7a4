/**
 * Time as the gateway's timers and schedules read it. The real clock by default; tests and
 * the fleet bench pass one they move themselves, so waiting out a grace period or a week of
 * demand takes no real time.
 * @module
 */

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}
