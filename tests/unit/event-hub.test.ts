/**
 * The fan-out behind `/v1/events`, on its own, for every shape of traffic: a subscriber that
 * reads gets every byte published after it came, once and in order, however events fall into
 * batches and pieces; one that never reads is dropped exactly when more than the bound was
 * left unread at a batch, and then its stream says why and ends.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { createEventHub } from "../../src/http/event-hub.ts"
import { until } from "../helpers/wait.ts"

const BOUND = 4096
const GREETING = new TextEncoder().encode(": hi\n\n")

function pump(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader()
  const decoder = new TextDecoder()
  const s = { text: "", done: false, cancel: () => reader.cancel() }
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return void (s.done = true)
      s.text += decoder.decode(value, { stream: true })
    }
  })()
  return s
}

const frame = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`

describe("event hub", () => {
  test("readers get everything in order; a non-reader is dropped exactly when over the bound", async () => {
    const event = fc.record({ type: fc.constantFrom("request", "backend"), text: fc.string({ maxLength: 3000, unit: "binary" }) })
    const batches = fc.array(fc.array(event, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 })
    await fc.assert(
      fc.asyncProperty(batches, async (plan) => {
        let active = 0
        const hub = createEventHub({
          flushMs: 1,
          fanoutPerSecond: 1e9,
          maxBacklogBytes: BOUND,
          activate: () => (active++, () => active--),
        })
        const reading = pump(hub.subscribe({ greeting: GREETING }))
        let drops = 0
        const idle = hub.subscribe({ greeting: GREETING, onDrop: () => drops++ })
        expect(active).toBe(1)
        let expected = ": hi\n\n"
        let unread = 0
        let dropAt = -1
        for (const [i, batch] of plan.entries()) {
          if (dropAt < 0 && unread > BOUND) dropAt = i
          for (const e of batch) {
            hub.publish(e.type, { text: e.text })
            expected += frame(e.type, { text: e.text })
            unread += new TextEncoder().encode(frame(e.type, { text: e.text })).length
          }
          await until(() => reading.text.length >= expected.length, Boolean, { everyMs: 1, what: `batch ${i} read` })
        }
        expect(reading.text).toBe(expected)
        expect(reading.done).toBe(false)
        expect(drops).toBe(dropAt >= 0 ? 1 : 0)
        expect(hub.size()).toBe(dropAt >= 0 ? 1 : 2)
        if (dropAt >= 0) {
          const rest = pump(idle)
          await until(() => rest.done, Boolean, { everyMs: 1, what: "the dropped stream's end" })
          expect(rest.text).toBe(`: hi\n\n: dropped: more than ${BOUND} bytes of events unread; reconnect to resume\n\n`)
        } else {
          await idle.cancel()
        }
        await reading.cancel()
        expect(hub.size()).toBe(0)
        expect(active).toBe(0)
      }),
      { numRuns: 200 }
    )
  }, 30_000)

  test("the buses are followed only while someone listens", async () => {
    let active = 0
    const hub = createEventHub({ flushMs: 1, fanoutPerSecond: 1e9, maxBacklogBytes: BOUND, activate: () => (active++, () => active--) })
    const a = hub.subscribe({ greeting: GREETING })
    const b = hub.subscribe({ greeting: GREETING })
    expect(active).toBe(1)
    await a.cancel()
    expect(active).toBe(1)
    await b.cancel()
    expect(active).toBe(0)
    expect(hub.size()).toBe(0)
  })
})
