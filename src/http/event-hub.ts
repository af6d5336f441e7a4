/**
 * One fan-out for every Server-Sent Events subscriber. Publishing frames an event once
 * and appends it to a batch; a timer turns the batch into bytes once and appends them to
 * a shared log of chunks. Each subscriber is a cursor into that log, and its stream hands
 * Bun the next chunk only when Bun asks for it, which Bun does only once the socket took
 * the last one. So the request path pays one serialization per event whatever the number
 * of subscribers, a subscriber that stops reading costs nothing per event, and all of
 * them share the same bytes.
 *
 * A subscriber that still has more than `maxBacklogBytes` unread when the next batch comes
 * is dropped: its stream ends with a comment saying why, and it is forgotten. The log
 * keeps only what the slowest remaining subscriber has yet to read: the bound and a batch.
 * @module
 */

/**
 * The longest piece handed to Bun at once. Bun copies what a full socket did not take, so
 * this is what a stalled subscriber may hold on to; each piece is also one write.
 */
const CHUNK_BYTES = 16 * 1024

const encoder = new TextEncoder()

export interface HubOptions {
  /** How long events gather before they go out together, ms (the shortest wait). */
  flushMs: number
  /**
   * Batches handed to subscribers per second at most: with more subscribers than fit in
   * one flush, batches gather longer, so going through them all costs the same per second.
   */
  fanoutPerSecond: number
  /** Bytes a subscriber may fall behind before it is dropped. */
  maxBacklogBytes: number
  /** Called before each flush: the last moment to publish coalesced events. */
  beforeFlush?: () => void
  /** Called when the first subscriber arrives; returns what to call when the last leaves. */
  activate?: () => () => void
}

export interface SubscriberHooks {
  /** Sent to this subscriber alone, first. */
  greeting: Uint8Array
  /** Aborted when the client goes. */
  signal?: AbortSignal
  /** The subscriber was dropped for falling behind (not for leaving). */
  onDrop?: () => void
}

export interface EventHub {
  /** A new subscriber's stream of bytes, from the next event on. */
  subscribe(hooks: SubscriberHooks): ReadableStream<Uint8Array>
  /** Queue one event for every subscriber (`type` is the SSE event name). */
  publish(type: string, data: unknown): void
  /** Queue an SSE comment line (keep-alives). */
  comment(text: string): void
  /** Have a batch go out soon even if nothing is queued: beforeFlush has something to add. */
  flushSoon(): void
  /** Subscribers connected now. */
  size(): number
}

interface Subscriber {
  /** Offset in the log of the next byte this subscriber gets. */
  cursor: number
  /** Bun asked for bytes and got none yet: hand it the next chunk as soon as there is one. */
  waiting: boolean
  controller: ReadableStreamDefaultController<Uint8Array>
  hooks: SubscriberHooks
}

export function createEventHub(opts: HubOptions): EventHub {
  const subscribers = new Set<Subscriber>()
  // The log: chunks[i] starts at offset starts[i]; `end` is the offset after the last byte.
  let chunks: Uint8Array[] = []
  let starts: number[] = []
  let end = 0
  let batch = ""
  let timer: ReturnType<typeof setTimeout> | undefined
  let deactivate: (() => void) | undefined
  const dropNote = encoder.encode(`: dropped: more than ${opts.maxBacklogBytes} bytes of events unread; reconnect to resume\n\n`)

  function queue(text: string) {
    if (subscribers.size === 0) return
    batch += text
    schedule()
  }

  function schedule() {
    timer ??= setTimeout(flush, Math.max(opts.flushMs, (subscribers.size * 1000) / opts.fanoutPerSecond))
  }

  function flush() {
    // While the timer is still set, what beforeFlush publishes joins this batch.
    opts.beforeFlush?.()
    timer = undefined
    if (batch === "") return
    const bytes = encoder.encode(batch)
    batch = ""
    // Judged on what was there before this batch: one large batch does not drop a
    // subscriber that is keeping up.
    const before = end
    for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
      chunks.push(bytes.subarray(at, at + CHUNK_BYTES))
      starts.push(end + at)
    }
    end += bytes.length
    let oldest = end
    for (const s of subscribers) {
      if (s.waiting) deliver(s)
      else if (before - s.cursor > opts.maxBacklogBytes) drop(s)
      if (subscribers.has(s) && s.cursor < oldest) oldest = s.cursor
    }
    trim(oldest)
  }

  /** Forget the chunks every subscriber has had: the log never holds more than the bound and one batch. */
  function trim(oldest: number) {
    let n = 0
    while (n < chunks.length && starts[n]! + chunks[n]!.length <= oldest) n++
    if (n > 0) {
      chunks = chunks.slice(n)
      starts = starts.slice(n)
    }
  }

  /** Hand the subscriber the chunk at its cursor, if there is one yet. */
  function deliver(s: Subscriber) {
    if (s.cursor >= end) {
      s.waiting = true
      return
    }
    const i = indexAt(s.cursor)
    if (i < 0) return drop(s)
    s.waiting = false
    s.cursor = starts[i]! + chunks[i]!.length
    try {
      s.controller.enqueue(chunks[i]!)
    } catch {
      leave(s)
    }
  }

  /** The chunk starting at `offset`, or -1 when it was trimmed (the subscriber fell behind). */
  function indexAt(offset: number): number {
    let lo = 0
    let hi = chunks.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const start = starts[mid]!
      if (start === offset) return mid
      if (start < offset) lo = mid + 1
      else hi = mid - 1
    }
    return -1
  }

  function drop(s: Subscriber) {
    if (!leave(s)) return
    try {
      s.controller.enqueue(dropNote)
      s.controller.close()
    } catch {
      // The client left at the same moment.
    }
    s.hooks.onDrop?.()
  }

  /** The client left: forget it and end its stream. */
  function gone(s: Subscriber) {
    if (!leave(s)) return
    try {
      s.controller.close()
    } catch {
      // Already closed.
    }
  }

  /** Forget a subscriber; false when it was already gone. */
  function leave(s: Subscriber): boolean {
    if (!subscribers.delete(s)) return false
    if (subscribers.size === 0) {
      deactivate?.()
      deactivate = undefined
      clearTimeout(timer)
      timer = undefined
      batch = ""
      chunks = []
      starts = []
    }
    return true
  }

  return {
    subscribe(hooks) {
      let self: Subscriber
      return new ReadableStream<Uint8Array>(
        {
          start(controller) {
            self = { cursor: end, waiting: false, controller, hooks }
            if (subscribers.size === 0) deactivate = opts.activate?.()
            subscribers.add(self)
            hooks.signal?.addEventListener("abort", () => gone(self), { once: true })
            // Headers go out with the first chunk in Bun.
            controller.enqueue(hooks.greeting)
          },
          pull() {
            if (subscribers.has(self)) deliver(self)
          },
          cancel() {
            leave(self)
          },
        },
        { highWaterMark: 0 }
      )
    },
    publish(type, data) {
      if (subscribers.size > 0) queue(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`)
    },
    comment(text) {
      queue(`: ${text}\n\n`)
    },
    flushSoon() {
      if (subscribers.size > 0) schedule()
    },
    size: () => subscribers.size,
  }
}
