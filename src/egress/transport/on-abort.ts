/**
 * Many subscribers to one long-lived signal (Nexus's own shutdown), with one listener on
 * the signal itself: every open stream waits for it, and an abort listener each cost
 * more per stream than the rest of its setup.
 * @module
 */
import { Slots } from "./slots.ts"

// Slots, not a Set: streams subscribe and leave all the time (see slots.ts).
const subscribers = new WeakMap<AbortSignal, Slots<() => void>>()

/** Call `fn` once when `signal` aborts (at once if it has); returns the unsubscribe. */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    fn()
    return () => {}
  }
  const list = subscribers.get(signal) ?? listen(signal)
  const slot = list.add(fn)
  return () => list.remove(slot, fn)
}

function listen(signal: AbortSignal): Slots<() => void> {
  const fns = new Slots<() => void>()
  subscribers.set(signal, fns)
  signal.addEventListener(
    "abort",
    () => {
      subscribers.delete(signal)
      fns.forEach((f) => f())
    },
    { once: true }
  )
  return fns
}
