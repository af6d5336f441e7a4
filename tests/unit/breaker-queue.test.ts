import { describe, expect, test } from "bun:test"
import { createBreakers } from "../../src/routing/breaker.ts"
import { createQueue, QueueError } from "../../src/routing/queue.ts"

describe("circuit breaker", () => {
  const setup = () => {
    let t = 0
    const b = createBreakers(() => ({ failure_threshold: 3, cooldown_seconds: 10 }), () => t)
    return { b, advance: (ms: number) => (t += ms) }
  }

  test("opens after consecutive failures, not before", () => {
    const { b } = setup()
    b.failure("x", "boom")
    b.failure("x", "boom")
    expect(b.refusal("x")).toBeUndefined()
    b.failure("x", "boom")
    expect(b.state("x")).toBe("open")
    expect(b.refusal("x")).toContain("circuit open")
  })

  test("a success in between resets the count", () => {
    const { b } = setup()
    b.failure("x", "e")
    b.failure("x", "e")
    b.success("x")
    b.failure("x", "e")
    expect(b.state("x")).toBe("closed")
  })

  test("after the cooldown one trial goes through; its success closes the circuit", () => {
    const { b, advance } = setup()
    for (let i = 0; i < 3; i++) b.failure("x", "e")
    advance(10_001)
    expect(b.refusal("x")).toBeUndefined()
    b.begin("x")
    expect(b.state("x")).toBe("half_open")
    expect(b.refusal("x")).toContain("trial")
    b.success("x")
    expect(b.state("x")).toBe("closed")
    expect(b.refusal("x")).toBeUndefined()
  })

  test("a failed trial opens it again for another cooldown", () => {
    const { b, advance } = setup()
    for (let i = 0; i < 3; i++) b.failure("x", "e")
    advance(10_001)
    b.begin("x")
    b.failure("x", "still down")
    expect(b.state("x")).toBe("open")
    expect(b.refusal("x")).toContain("retry in 10 s")
  })

  test("a neutral end (client left) frees the trial slot without deciding", () => {
    const { b, advance } = setup()
    for (let i = 0; i < 3; i++) b.failure("x", "e")
    advance(10_001)
    b.begin("x")
    b.neutral("x")
    expect(b.refusal("x")).toBeUndefined()
    expect(b.state("x")).toBe("half_open")
  })

  test("429 cooldown keeps traffic away without opening the circuit", () => {
    const { b, advance } = setup()
    b.cooldown("x", 2)
    expect(b.refusal("x")).toContain("rate limited")
    expect(b.state("x")).toBe("closed")
    advance(2001)
    expect(b.refusal("x")).toBeUndefined()
  })
})

describe("capacity queue", () => {
  const cfg = { max_size: 3, max_wait_seconds: 5 }
  const far = () => performance.now() + 5000
  /** A pool of `n` slots that waiters take from synchronously, as requests do. */
  const pool = (n: number) => ({ free: n, take(): number | undefined { return this.free > 0 ? this.free-- : undefined } })

  test("a released slot goes to high priority first, then FIFO, one waiter per slot", async () => {
    const q = createQueue(() => cfg)
    const slots = pool(0)
    const order: string[] = []
    const signal = new AbortController().signal
    const take = () => slots.take()
    const a = q.wait("m", "normal", signal, far(), take).then(() => order.push("a"))
    const b = q.wait("m", "normal", signal, far(), take).then(() => order.push("b"))
    const c = q.wait("m", "high", signal, far(), take).then(() => order.push("c"))
    slots.free = 1
    q.released()
    await c
    // One slot woke exactly one waiter: the others are still in line.
    expect(q.size).toBe(2)
    slots.free = 2
    q.changed()
    await Promise.all([a, b])
    expect(order).toEqual(["c", "a", "b"])
    expect(q.size).toBe(0)
  })

  test("a waiter that cannot use the slot keeps its place; the next one gets it", async () => {
    const q = createQueue(() => cfg)
    const signal = new AbortController().signal
    let forB = 0
    const a = q.wait("m", "normal", signal, far(), () => undefined)
    const b = q.wait("m", "normal", signal, far(), () => (forB > 0 ? forB-- : undefined))
    forB = 1
    q.released()
    expect(await b).toBe(1)
    expect(q.size).toBe(1)
    const ac = new AbortController()
    void ac
    q.changed()
    expect(q.size).toBe(1)
    void a.catch(() => {})
  })

  test("refuses at once when full", async () => {
    const q = createQueue(() => ({ ...cfg, max_size: 1 }))
    const ac = new AbortController()
    const never = () => undefined
    const first = q.wait("m", "normal", ac.signal, far(), never)
    await expect(q.wait("m", "normal", ac.signal, far(), never)).rejects.toEqual(new QueueError("full"))
    ac.abort()
    await expect(first).rejects.toEqual(new QueueError("aborted"))
    expect(q.size).toBe(0)
  })

  test("times out at the deadline and leaves the queue", async () => {
    const q = createQueue(() => cfg)
    const err = await q.wait("m", "normal", new AbortController().signal, performance.now() + 20, () => undefined).catch((e) => e)
    expect(err).toEqual(new QueueError("timeout"))
    expect(q.size).toBe(0)
  })
})
