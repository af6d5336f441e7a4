/**
 * The capacity queue. A request waits here only when every capable backend is at
 * its `max_concurrent`; unknown or unservable models never get here. High priority
 * goes first, FIFO within a priority. Released slots wake waiters in that order.
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

interface Waiter {
  priority: QueuePriority
  seq: number
  wake: () => void
}

export type RequestQueue = ReturnType<typeof createQueue>

export function createQueue(config: () => QueueConfig) {
  const high: Waiter[] = []
  const normal: Waiter[] = []
  let seq = 0

  function remove(w: Waiter): void {
    const list = w.priority === "high" ? high : normal
    const i = list.indexOf(w)
    if (i !== -1) list.splice(i, 1)
  }

  function insert(w: Waiter): void {
    const list = w.priority === "high" ? high : normal
    // Keep FIFO by original arrival, also for a waiter that re-queues after losing a race.
    let i = list.length
    while (i > 0 && list[i - 1]!.seq > w.seq) i--
    list.splice(i, 0, w)
  }

  return {
    get size(): number {
      return high.length + normal.length
    },

    /**
     * Wait for a slot to free up. Resolves when woken (the caller re-plans and may
     * call `wait` again with the same ticket to keep its place); rejects with a
     * QueueError when the queue is full, the deadline passes or the client leaves.
     */
    wait(priority: QueuePriority, signal: AbortSignal, deadline: number, ticket?: number): Promise<number> {
      const cfg = config()
      if (ticket === undefined && high.length + normal.length >= cfg.max_size) {
        return Promise.reject(new QueueError("full"))
      }
      if (signal.aborted) return Promise.reject(new QueueError("aborted"))
      const remaining = deadline - performance.now()
      if (remaining <= 0) return Promise.reject(new QueueError("timeout"))
      return new Promise<number>((resolve, reject) => {
        const w: Waiter = { priority, seq: ticket ?? ++seq, wake: () => done(() => resolve(w.seq)) }
        const timer = setTimeout(() => done(() => reject(new QueueError("timeout"))), remaining)
        const onAbort = () => done(() => reject(new QueueError("aborted")))
        signal.addEventListener("abort", onAbort, { once: true })
        function done(settle: () => void): void {
          clearTimeout(timer)
          signal.removeEventListener("abort", onAbort)
          remove(w)
          settle()
        }
        insert(w)
      })
    },

    /**
     * A slot was released somewhere, or the set of backends changed: wake every
     * waiter in line order. Each re-plans; the first that finds room takes it and
     * the rest wait again with their original place.
     */
    notify(): void {
      if (!high.length && !normal.length) return
      for (const w of [...high, ...normal]) w.wake()
    },
  }
}
