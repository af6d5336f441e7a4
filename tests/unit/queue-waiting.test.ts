/**
 * The queue's count of waiters per model, for every sequence of arrivals (some turned away
 * because the queue is full or the client already left), slots freed one at a time or all
 * at once, clients leaving and waits timing out: after each step each model's count is the
 * number of its requests still in line, and once everyone has left every count is gone.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { createQueue, QueueError } from "../../src/routing/queue.ts"

const MODELS = ["a", "b", "c"] as const
/** Waits that time out get a model of their own: their timer leaves the line between steps. */
const SHORT = "short"

type Op =
  | { op: "wait"; model: (typeof MODELS)[number]; high: boolean; picky: boolean; gone: boolean }
  | { op: "short" }
  | { op: "leave"; index: number }
  | { op: "free"; slots: number; all: boolean }
  | { op: "tick" }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("wait" as const), model: fc.constantFrom(...MODELS), high: fc.boolean(), picky: fc.boolean(), gone: fc.boolean() }),
  fc.record({ op: fc.constant("short" as const) }),
  fc.record({ op: fc.constant("leave" as const), index: fc.nat(40) }),
  fc.record({ op: fc.constant("free" as const), slots: fc.integer({ min: 1, max: 3 }), all: fc.boolean() }),
  fc.record({ op: fc.constant("tick" as const) })
)

interface Waiter {
  model: string
  ac: AbortController
  inLine: boolean
  picky: boolean
  done: Promise<unknown>
}

describe("waiting per model", () => {
  test("each model's count is its requests in line after every step, and 0 once all have left", async () => {
    /** How requests left the line over all runs: each way must have happened. */
    const ways = { served: 0, full: 0, timeout: 0, aborted: 0 }
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), fc.integer({ min: 1, max: 8 }), async (ops, maxSize) => {
        const q = createQueue(() => ({ max_size: maxSize, max_wait_seconds: 30 }))
        const far = () => performance.now() + 60_000
        const waiters: Waiter[] = []
        let slots = 0
        const expectCounts = () => {
          for (const m of MODELS) expect(q.waitingFor(m)).toBe(waiters.filter((w) => w.inLine && w.model === m).length)
          let sum = 0
          for (const n of q.waiting().values()) {
            expect(n).toBeGreaterThan(0)
            sum += n
          }
          expect(sum).toBe(q.size)
        }
        for (const o of ops) {
          if (o.op === "wait" || o.op === "short") {
            const model = o.op === "wait" ? o.model : SHORT
            const ac = new AbortController()
            if (o.op === "wait" && o.gone) ac.abort()
            const before = q.size
            const w: Waiter = { model, ac, inLine: false, picky: o.op === "wait" && o.picky, done: Promise.resolve() }
            const take = () => {
              if (w.picky || slots === 0) return undefined
              slots--
              w.inLine = false
              return true
            }
            w.done = q.wait(model, o.op === "wait" && o.high ? "high" : "normal", ac.signal, o.op === "short" ? performance.now() + 2 : far(), take).then(
              () => ways.served++,
              (err: QueueError) => ways[err.reason]++
            )
            w.inLine = q.size > before && model !== SHORT
            waiters.push(w)
          } else if (o.op === "leave") {
            const w = waiters[o.index % Math.max(1, waiters.length)]
            if (w) {
              w.ac.abort()
              w.inLine = false
            }
          } else if (o.op === "tick") {
            // Past every short deadline: those waits have timed out and left.
            await Bun.sleep(4)
            expect(q.waitingFor(SHORT)).toBe(0)
          } else {
            slots += o.slots
            if (o.all) q.changed()
            else for (let i = 0; i < o.slots; i++) q.released()
          }
          expectCounts()
        }
        for (const w of waiters) w.ac.abort()
        await Promise.all(waiters.map((w) => w.done))
        expect(q.size).toBe(0)
        expect([...q.waiting()]).toEqual([])
        for (const m of [...MODELS, SHORT]) expect(q.waitingFor(m)).toBe(0)
      }),
      { numRuns: 300 }
    )
    for (const n of Object.values(ways)) expect(n).toBeGreaterThan(0)
  })
})
