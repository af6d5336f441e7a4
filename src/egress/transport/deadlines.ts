/**
 * Deadlines many requests share (a body must arrive within the request timeout, an
 * answer must start within the first-byte allowance), kept by one timer armed for the
 * earliest of them: exact to the millisecond, one timer however many requests wait, and
 * nearly every deadline is withdrawn long before it is due. All deadlines are on the
 * `performance.now()` clock.
 * @module
 */
import { Slots } from "./slots.ts"

export interface Deadline {
  readonly at: number
  expire(): void
  /** Where it waits in `pending`. */
  slot: number
}

// Not a Set: deadlines come and go with every request (see slots.ts).
const pending = new Slots<Deadline>()
let timer: ReturnType<typeof setTimeout> | undefined
let armedAt = Infinity

/** Call `expire` at `at` unless `withdraw` is called first. */
export function watch(at: number, expire: () => void): Deadline {
  const d: Deadline = { at, expire, slot: -1 }
  schedule(d)
  return d
}

/**
 * Call `d.expire()` at `d.at` unless it is withdrawn first: for an object that is its own
 * deadline, where one runs per request (no closure and no second object).
 */
export function schedule(d: Deadline): void {
  d.slot = pending.add(d)
  if (d.at < armedAt) arm(d.at)
}

export function withdraw(d: Deadline | undefined): void {
  if (d) pending.remove(d.slot, d)
}

function arm(at: number): void {
  if (timer !== undefined) clearTimeout(timer)
  armedAt = at
  timer = setTimeout(fire, Math.max(0, at - performance.now()))
}

function fire(): void {
  timer = undefined
  armedAt = Infinity
  const now = performance.now()
  let next = Infinity
  pending.sweep(
    (d) => {
      if (d.at <= now) return true
      if (d.at < next) next = d.at
      return false
    },
    (d) => d.expire()
  )
  if (next < armedAt) arm(next)
}
