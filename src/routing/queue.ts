/**
 * The capacity queue. A request waits here only when every capable backend is at its
 * `max_concurrent`; unknown or unservable models never get here. High priority goes
 * first, FIFO within a priority. Each waiter brings a `take` function that plans and
 * reserves a slot in one synchronous step; a released slot is offered to waiters in
 * line order until one takes it, so one slot wakes exactly one request and no two
 * requests can both win the last slot. It also keeps how many wait for each model (the
 * model the router resolved), so the fleet can see demand that `max_concurrent` holds back.
 * @module
 */

export interface QueueConfig {
  max_size: number
  max_wait_seconds: number
}

export type QueuePriority = "high" | "normal"

export type QueueRejection = "full" | "timeout" | "aborted"

export class QueueError extends Error {
  constructor(readonly reason: QueueRejection) {
    super(`queue ${reason}`)
  }
}

/** Try to get what the waiter waits for now; undefined means "keep waiting". */
export type Take<T> = () => T | undefined

interface Waiter {
  priority: QueuePriority
  /** Returns true when the waiter took something and left the line. */
  offer: () => boolean
}

export type RequestQueue = ReturnType<typeof createQueue>

export function createQueue(config: () => QueueConfig) {
  const high: Waiter[] = []
  const normal: Waiter[] = []
  /** model -> requests waiting for it; a model nobody waits for has no entry. */
  const waiting = new Map<string, number>()

  function leave(model: string): void {
    const n = (waiting.get(model) ?? 1) - 1
    if (n > 0) waiting.set(model, n)
    else waiting.delete(model)
  }

  function remove(w: Waiter): void {
    const list = w.priority === "high" ? high : normal
    const i = list.indexOf(w)
    if (i !== -1) list.splice(i, 1)
  }

  /** Offer to waiters in line order; stop after `max` have taken something. */
  function offer(max: number): void {
    if (!high.length && !normal.length) return
    let taken = 0
    for (const w of [...high, ...normal]) {
      if (taken >= max) return
      if (w.offer()) taken++
    }
  }

  return {
    get size(): number {
      return high.length + normal.length
    },

    /** Requests waiting for `model` now. */
    waitingFor(model: string): number {
      return waiting.get(model) ?? 0
    },

    /** Requests waiting now, by model (only models somebody waits for). */
    waiting(): ReadonlyMap<string, number> {
      return waiting
    },

    /**
     * Wait for `model` until `take` returns something; rejects with a QueueError when the
     * queue is full, the deadline passes or the client leaves.
     */
    wait<T>(model: string, priority: QueuePriority, signal: AbortSignal, deadline: number, take: Take<T>): Promise<T> {
      if (high.length + normal.length >= config().max_size) return Promise.reject(new QueueError("full"))
      if (signal.aborted) return Promise.reject(new QueueError("aborted"))
      const remaining = deadline - performance.now()
      if (remaining <= 0) return Promise.reject(new QueueError("timeout"))
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => done(() => reject(new QueueError("timeout"))), remaining)
        const onAbort = () => done(() => reject(new QueueError("aborted")))
        signal.addEventListener("abort", onAbort, { once: true })
        const w: Waiter = {
          priority,
          offer() {
            const got = take()
            if (got === undefined) return false
            done(() => resolve(got))
            return true
          },
        }
        // Every way out (taken, timed out, client gone) ends here; whichever comes first
        // takes the waiter off its model's count, and only that one.
        let left = false
        function done(settle: () => void): void {
          clearTimeout(timer)
          signal.removeEventListener("abort", onAbort)
          remove(w)
          if (!left) {
            left = true
            leave(model)
          }
          settle()
        }
        ;(priority === "high" ? high : normal).push(w)
        waiting.set(model, (waiting.get(model) ?? 0) + 1)
      })
    },

    /** One slot was released: the first waiter that can use it gets it. */
    released(): void {
      offer(1)
    },

    /** The set of backends or their health changed: every waiter tries again, in order. */
    changed(): void {
      offer(Number.POSITIVE_INFINITY)
    },
  }
}
