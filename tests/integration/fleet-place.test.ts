/**
 * Placing a cold model on boxes with `max_concurrent`: concurrent requests follow the one
 * load under way (waiting in Nexus's queue for a slot on that box) instead of starting
 * another load elsewhere, and a cold model never goes where loading it would evict a
 * pinned model. The emulators' own load and eviction counters decide.
 */
import { describe, expect, test } from "bun:test"
import { startOllama } from "../../emulators/index.ts"
import type { OllamaEmulator } from "../../emulators/ollama.ts"
import { backend, chat, type TestNexus } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually, until } from "../helpers/wait.ts"

const scope = testScope()
const GIB = 1024 ** 3

const loadsOf = (e: OllamaEmulator, model: string) => e.fleet!.loads[model] ?? 0

interface FleetBody {
  waiting: Record<string, number>
  loading: Record<string, string>
  backends: { backend: string; loaded: { model: string; in_flight: number }[] }[]
}

async function fleetState(n: TestNexus): Promise<FleetBody> {
  return (await (await n.get("/v1/fleet")).json()) as FleetBody
}

/** Box a (8 GiB) holds `coder:7b` (pinned, or not); box b (12 GiB) holds nothing; `big:14b` is cold on both. */
async function boxes(opts: { cap: number; pinned: boolean }) {
  const models = [
    { id: "coder:7b", sizeBytes: 5 * GIB },
    { id: "big:14b", loaded: false, sizeBytes: 7 * GIB },
  ]
  const [a, b] = await Promise.all([
    scope.emulator(startOllama({ models, fleet: { memoryBytes: 8 * GIB, loadMsPerGb: 30 } })),
    scope.emulator(startOllama({ models: [models[1]!], fleet: { memoryBytes: 12 * GIB, loadMsPerGb: 30 } })),
  ])
  // Without the pin, box a could take the model by evicting an idle one: only the load under way keeps requests off it.
  const n = await scope.nexus({
    backends: [backend("box-a", a.url, "ollama", { memory_gb: 8 }), backend("box-b", b.url, "ollama", { memory_gb: 12, max_concurrent: opts.cap })],
    fleet: { pins: opts.pinned ? [{ model: "coder:7b", backend: "box-a" }] : [] },
  })
  return { a, b, n }
}

/** Every counter back at rest: slots, the queue per model, load claims, requests per model. */
async function atRest(n: TestNexus): Promise<void> {
  await eventually(() => n.inFlight() === 0, 10_000, "no request in flight")
  const state = await until(
    () => fleetState(n),
    (s) => Object.keys(s.waiting).length === 0 && Object.keys(s.loading).length === 0 && s.backends.every((b) => b.loaded.every((m) => m.in_flight === 0)),
    { what: "no waiter, no claim, nothing in flight per model" }
  )
  expect(state.waiting).toEqual({})
  expect(state.loading).toEqual({})
}

describe("concurrent requests for a model cold everywhere, on boxes with max_concurrent", () => {
  // Every combination, each on fresh boxes (16 runs, a few seconds): too few to sample.
  const cases = [1, 2].flatMap((cap) => [3, 4, 5, 6].flatMap((count) => [true, false].map((pinned) => ({ cap, count, pinned }))))
  test.each(cases)("one load on the box with room, no eviction on the other: cap $cap, $count at once, pinned $pinned", async ({ cap, count, pinned }) => {
    const { a, b, n } = await boxes({ cap, pinned })
    // The route's dry run: box b first; with the pin, box a left out and why. A plan claims no load.
    const plan = (await (await n.post("/v1/nexus/route", chat("big:14b"))).json()) as { candidates: { backend: string }[]; excluded: { backend: string; reason: string }[] }
    expect(plan.candidates[0]!.backend).toBe("box-b")
    if (pinned) expect(plan.excluded).toEqual([expect.objectContaining({ backend: "box-a", reason: "loading big:14b here would evict pinned coder:7b" })])
    expect((await fleetState(n)).loading).toEqual({})
    const answers = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const res = await n.post("/v1/chat/completions", chat("big:14b", { stream: i % 2 === 1 }))
        await res.text()
        return { status: res.status, backend: res.headers.get("x-nexus-backend") ?? res.headers.get("x-nexus-loading") }
      })
    )
    expect(answers).toEqual(Array(count).fill({ status: 200, backend: "box-b" }))
    expect(loadsOf(b, "big:14b")).toBe(1)
    expect(loadsOf(a, "big:14b")).toBe(0)
    expect(a.fleet!.evictions).toEqual([])
    expect(a.fleet!.resident().map((r) => r.model.id)).toEqual(["coder:7b"])
    await atRest(n)
  }, 20_000)
})

describe("the box a load was placed on fails", () => {
  test("no failover to the box where loading would evict the pinned model: each request gets a clear error, and every counter ends at 0", async () => {
    const { a, b, n } = await boxes({ cap: 1, pinned: true })
    b.faults.status = 500
    const answers = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const res = await n.post("/v1/chat/completions", chat("big:14b"))
        return { status: res.status, error: ((await res.json()) as { error?: { message?: string } }).error?.message }
      })
    )
    for (const r of answers) {
      expect(r.status).toBeGreaterThanOrEqual(500)
      expect(r.error).toContain("box-b")
      // The failure says why the other box was not tried.
      expect(r.error).toContain("not tried: box-a (big:14b): loading big:14b here would evict pinned coder:7b")
    }
    expect(a.fleet!.evictions).toEqual([])
    expect(loadsOf(a, "big:14b")).toBe(0)
    await atRest(n)
  }, 20_000)
})

describe("a box where loading would evict a pinned model", () => {
  test("is left out for the cold model, and the 503 and POST /v1/nexus/route say why", async () => {
    const models = [
      { id: "coder:7b", sizeBytes: 5 * GIB },
      { id: "big:14b", loaded: false, sizeBytes: 7 * GIB },
    ]
    const a = await scope.emulator(startOllama({ models, fleet: { memoryBytes: 8 * GIB } }))
    const n = await scope.nexus({ backends: [backend("box-a", a.url, "ollama", { memory_gb: 8 })], fleet: { pins: [{ model: "coder:7b", backend: "box-a" }] } })
    const why = "loading big:14b here would evict pinned coder:7b"

    const plan = (await (await n.post("/v1/nexus/route", chat("big:14b"))).json()) as { routable: boolean; excluded: { backend: string; reason: string; kind: string }[] }
    expect(plan.routable).toBe(false)
    expect(plan.excluded).toMatchObject([{ backend: "box-a", reason: why, kind: "placement" }])

    const res = await n.post("/v1/chat/completions", chat("big:14b"))
    expect(res.status).toBe(503)
    const err = ((await res.json()) as { error: { message: string; code: string } }).error
    expect(err.message).toContain(`box-a: ${why}`)
    expect(err.code).toBe("no_backend_available")

    const anthropic = await n.post("/v1/messages", { model: "big:14b", max_tokens: 16, messages: [{ role: "user", content: "hi" }] })
    expect(anthropic.status).toBe(503)
    expect((await anthropic.json()) as unknown).toMatchObject({ type: "error", error: { message: expect.stringContaining(why) } })

    // The model it holds is still served, and nothing was evicted.
    expect((await n.post("/v1/chat/completions", chat("coder:7b"))).status).toBe(200)
    expect(a.fleet!.evictions).toEqual([])
    expect(loadsOf(a, "big:14b")).toBe(0)
    await atRest(n)
  }, 20_000)

  test("a model in use only delays the load: the request waits for it to end, then loads", async () => {
    const models = [
      { id: "coder:7b", sizeBytes: 5 * GIB },
      { id: "big:14b", loaded: false, sizeBytes: 7 * GIB },
    ]
    const a = await scope.emulator(startOllama({ models, chunks: 100, chunkDelayMs: 100, fleet: { memoryBytes: 8 * GIB } }))
    const n = await scope.nexus({ backends: [backend("box-a", a.url, "ollama", { memory_gb: 8 })] })
    const ac = new AbortController()
    const busy = await fetch(`${n.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(chat("coder:7b", { stream: true })), signal: ac.signal })
    expect(busy.status).toBe(200)
    await eventually(() => a.stats.inFlight === 1, 5000, "the stream on coder:7b under way")

    const plan = (await (await n.post("/v1/nexus/route", chat("big:14b"))).json()) as { excluded: { reason: string; kind: string }[]; waitable: boolean }
    expect(plan).toMatchObject({ waitable: true, excluded: [{ reason: "loading big:14b here would evict coder:7b (requests in flight)", kind: "capacity" }] })

    const waited = n.post("/v1/chat/completions", chat("big:14b"))
    await until(() => fleetState(n), (s) => s.waiting["big:14b"] === 1, { what: "the request waiting for big:14b" })
    expect(a.fleet!.evictions).toEqual([])
    ac.abort()
    await busy.body?.cancel().catch(() => {})
    const res = await waited
    expect(res.status).toBe(200)
    await res.text()
    expect(a.fleet!.evictions).toEqual(["coder:7b"])
    expect(loadsOf(a, "big:14b")).toBe(1)
    await atRest(n)
  }, 20_000)
})
