/**
 * Nexus's own queue as the fleet sees it. With `max_concurrent` on a box, requests beyond
 * the cap wait in Nexus, not at the box: auto counts them in the model's queue there and
 * loads a second copy where there is room. Every way out of the queue (served, timed out,
 * client gone, turned away full) leaves the per-model count where it should be, as
 * `GET /v1/fleet` and `nexus_queue_waiting` report it.
 */
import { describe, expect, test } from "bun:test"
import { startOllama } from "../../emulators/index.ts"
import type { OllamaEmulator } from "../../emulators/ollama.ts"
import { testClock } from "../helpers/clock.ts"
import { backend, chat, type TestNexus } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually } from "../helpers/wait.ts"

const scope = testScope()
const GIB = 1024 ** 3
const MIN = 60_000
/** Monday 7 December 2026, 09:10 local time. */
const MONDAY_0910 = new Date(2026, 11, 7, 9, 10).getTime()
/** Streams that take ten seconds: they hold their slot for the whole test step. */
const SLOW = { chunks: 100, chunkDelayMs: 100 }

const loadsOf = (e: OllamaEmulator, model: string) => e.fleet!.loads[model] ?? 0
const autoLines = (n: TestNexus, action: string) => n.logs.filter((l) => String(l.msg ?? l.message ?? "").startsWith(`fleet auto: ${action}`))

/** What `GET /v1/fleet` says waits in Nexus's queue, by model. */
async function waiting(n: TestNexus): Promise<Record<string, number>> {
  const res = await n.get("/v1/fleet")
  expect(res.status).toBe(200)
  return ((await res.json()) as { waiting: Record<string, number> }).waiting
}

async function gauge(n: TestNexus, model: string): Promise<number | undefined> {
  const text = await (await n.get("/metrics")).text()
  const line = text.split("\n").find((l) => l.startsWith(`nexus_queue_waiting{model="${model}"} `))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1))
}

/** A streamed chat request the test can walk away from; its response, once it has one. */
function request(n: TestNexus, model: string) {
  const ac = new AbortController()
  const res = fetch(`${n.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(chat(model, { stream: true })),
    signal: ac.signal,
  })
  // A request the test leaves rejects; that is the point of leaving.
  res.catch(() => {})
  return { res, leave: () => ac.abort() }
}

describe("a second copy for a queue that waits in Nexus", () => {
  test("max_concurrent = 1 on the busy box: waiting grows over three ticks and a copy loads on the box with room", async () => {
    const clock = testClock(MONDAY_0910)
    const a = await scope.emulator(startOllama({ models: [{ id: "m:7b", sizeBytes: 2 * GIB }], ...SLOW, fleet: {} }))
    const b = await scope.emulator(
      startOllama({ models: [{ id: "m:7b", loaded: false, sizeBytes: 2 * GIB }, { id: "other:7b", sizeBytes: 2 * GIB }], ...SLOW, fleet: {} })
    )
    const n = await scope.nexus(
      {
        backends: [
          backend("a", a.url, "ollama", { priority: 1, memory_gb: 16, max_concurrent: 1 }),
          backend("b", b.url, "ollama", { priority: 90, memory_gb: 16, max_concurrent: 1 }),
        ],
        fleet: { auto: true, idle_unload_minutes: 15 },
      },
      { clock }
    )
    // b's one slot is busy with another model (it has memory to spare); a's with m:7b.
    const onB = request(n, "other:7b")
    await eventually(() => b.stats.inFlight === 1, 5000, "a stream on b")
    const onA = request(n, "m:7b")
    await eventually(() => a.stats.inFlight === 1, 5000, "a stream on a")
    const queued: ReturnType<typeof request>[] = []
    const queueOne = async () => {
      queued.push(request(n, "m:7b"))
      await eventually(async () => (await waiting(n))["m:7b"] === queued.length, 5000, `${queued.length} waiting for m:7b`)
    }

    // In flight on a stays at its cap of 1; the queue behind it grows: 1 + 1, 1 + 2, 1 + 3.
    await queueOne()
    clock.advance(MIN)
    await queueOne()
    clock.advance(MIN)
    expect(autoLines(n, "load")).toEqual([])
    await queueOne()
    expect(await gauge(n, "m:7b")).toBe(3)
    clock.advance(MIN)
    await eventually(() => loadsOf(b, "m:7b") === 1, 10_000, "a second copy on b")
    expect(a.stats.inFlight).toBe(1)
    expect(String(autoLines(n, "load")[0]!.msg)).toContain("requests on m:7b at a grew 2 → 4 over 2 min; b has 14.0 GB free")

    for (const q of queued) q.leave()
    await eventually(async () => (await waiting(n))["m:7b"] === undefined, 5000, "the waiters gone")
    expect(await gauge(n, "m:7b")).toBe(0)
    for (const r of [onA, onB]) r.leave()
    await eventually(() => n.inFlight() === 0, 10_000, "the streams over")
  }, 60_000)
})

describe("every way out of the queue", () => {
  test("served, client gone, turned away full: the count follows each and ends at 0", async () => {
    const a = await scope.emulator(startOllama({ models: ["m:7b", "n:7b"], ...SLOW }))
    const n = await scope.nexus({ backends: [backend("a", a.url, "ollama", { max_concurrent: 1 })], queue: { max_size: 3, max_wait_seconds: 60 } })
    const holder = request(n, "m:7b")
    await eventually(() => a.stats.inFlight === 1, 5000, "the slot taken")

    // Two models wait, each counted as its own.
    const first = request(n, "m:7b")
    await eventually(async () => (await waiting(n))["m:7b"] === 1, 5000, "one waiting for m:7b")
    const other = request(n, "n:7b")
    const gone = request(n, "m:7b")
    await eventually(async () => JSON.stringify(await waiting(n)) === JSON.stringify({ "m:7b": 2, "n:7b": 1 }), 5000, "m:7b 2, n:7b 1")

    // Full: turned away at once, never counted.
    const full = await n.post("/v1/chat/completions", chat("n:7b", { stream: true }))
    expect(full.status).toBe(503)
    expect(((await full.json()) as { error: { code: string } }).error.code).toBe("queue_full")
    expect(await waiting(n)).toEqual({ "m:7b": 2, "n:7b": 1 })
    expect([await gauge(n, "m:7b"), await gauge(n, "n:7b")]).toEqual([2, 1])

    // Client gone.
    gone.leave()
    await eventually(async () => JSON.stringify(await waiting(n)) === JSON.stringify({ "m:7b": 1, "n:7b": 1 }), 5000, "m:7b 1, n:7b 1")

    // Served: the slot frees, the first in line takes it, then the next.
    holder.leave()
    const served = await first.res
    expect(served.status).toBe(200)
    await eventually(async () => JSON.stringify(await waiting(n)) === JSON.stringify({ "n:7b": 1 }), 5000, "only n:7b waiting")
    await served.body?.cancel()
    expect((await other.res).status).toBe(200)
    expect(await waiting(n)).toEqual({})
    expect([await gauge(n, "m:7b"), await gauge(n, "n:7b")]).toEqual([0, 0])
    other.leave()
    await eventually(() => n.inFlight() === 0, 10_000, "the streams over")
  }, 30_000)

  test("timed out: the count falls back to 0 with the 503", async () => {
    const a = await scope.emulator(startOllama({ models: ["m:7b"], ...SLOW }))
    const n = await scope.nexus({ backends: [backend("a", a.url, "ollama", { max_concurrent: 1 })], queue: { max_wait_seconds: 2 } })
    const holder = request(n, "m:7b")
    await eventually(() => a.stats.inFlight === 1, 5000, "the slot taken")
    const waited = n.post("/v1/chat/completions", chat("m:7b"))
    await eventually(async () => (await gauge(n, "m:7b")) === 1, 5000, "one waiting for m:7b")
    const late = await waited
    expect(late.status).toBe(503)
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe("queue_timeout")
    expect(await waiting(n)).toEqual({})
    expect(await gauge(n, "m:7b")).toBe(0)
    holder.leave()
    await eventually(() => n.inFlight() === 0, 10_000, "the stream over")
  }, 30_000)
})
