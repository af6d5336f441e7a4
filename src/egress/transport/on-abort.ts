/**
 * Many subscribers to one long-lived signal (Nexus's own shutdown), with one listener on
 * the signal itself: every open stream waits for it, and an abort listener each cost
 * more per stream than the rest of its setup.
 * @module
 */

const subscribers = new WeakMap<AbortSignal, Set<() => void>>()

/** Call `fn` once when `signal` aborts (at once if it has); returns the unsubscribe. */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    fn()
    return () => {}
  }
  let set = subscribers.get(signal)
  if (!set) {
    const fns = (set = new Set())
    subscribers.set(signal, fns)
    signal.addEventListener(
      "abort",
      () => {
        subscribers.delete(signal)
        for (const f of fns) f()
      },
      { once: true }
    )
  }
  set.add(fn)
  return () => set.delete(fn)
}
