/**
 * The fleet acting on its own, against emulated servers that really load and unload
 * models, on a clock the test moves: a model is loaded a few minutes before its recorded
 * demand (and not where that would evict a model in use), a second copy is loaded when a
 * model's queue keeps growing and unloaded once idle (never while in flight or pinned),
 * the plan explains itself over HTTP and in the CLI, demand survives a restart, and
 * `[fleet] enabled = false` routes as a plain gateway.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startOllama } from "../../emulators/index.ts"
import type { OllamaEmulator } from "../../emulators/ollama.ts"
import { backend, chat, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { testClock, type TestClock } from "../helpers/clock.ts"
import { MAIN } from "../helpers/process.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually, until } from "../helpers/wait.ts"

const scope = testScope()
const GIB = 1024 ** 3
const MIN = 60_000
const WEEK = 7 * 24 * 60 * MIN
/** Monday 7 December 2026, 09:10 local time. */
const MONDAY_0910 = new Date(2026, 11, 7, 9, 10).getTime()

interface PlanAction {
  action: string
  kind: string
  model: string
  backend: string
  reason: string
}

const loadsOf = (e: OllamaEmulator, model: string) => e.fleet!.loads[model] ?? 0
const plan = async (n: TestNexus) => (await (await n.get("/v1/fleet/plan")).json()) as { enabled: boolean; auto: boolean; actions: PlanAction[] }
const autoLines = (n: TestNexus, action: string) => n.logs.filter((l) => String(l.msg ?? l.message ?? "").startsWith(`fleet auto: ${action}`))

/** `count` requests for `model` answered at the clock's current time: its demand in this hour. */
async function demand(n: TestNexus, model: string, count: number) {
  const statuses = await Promise.all(
    Array.from({ length: count }, async () => {
      const res = await n.post("/v1/chat/completions", chat(model))
      await res.text()
      return res.status
    })
  )
  expect(statuses).toEqual(Array(count).fill(200))
}

async function unload(n: TestNexus, model: string) {
  const res = await n.post(`/v1/models/${model}/unload`, {})
  expect(res.status).toBe(200)
}

async function cli(args: string[]) {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], { env: { ...process.env, NO_COLOR: "", NEXUS_URL: "" }, stdout: "pipe", stderr: "pipe" })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { stdout, stderr, code }
}

/** Eight requests on Monday 09:10, then the model unloaded and the clock at next Monday 08:54. */
async function mondayPeak(n: TestNexus, clock: TestClock, model: string) {
  await demand(n, model, 8)
  await unload(n, model)
  clock.advanceTo(MONDAY_0910 + WEEK - 16 * MIN)
}

describe("pre-warm", () => {
  test("loads a model a few minutes before its usual demand; requests meanwhile follow that one load", async () => {
    const clock = testClock(MONDAY_0910)
    const start = (loaded: boolean) => scope.emulator(startOllama({ models: [{ id: "coder:7b", loaded, sizeBytes: 2 * GIB }], fleet: { loadMsPerGb: 500 } }))
    const [a, b] = await Promise.all([start(true), start(false)])
    const n = await scope.nexus(
      { backends: [backend("a", a.url, "ollama", { memory_gb: 16 }), backend("b", b.url, "ollama", { priority: 90, memory_gb: 16 })], fleet: { auto: true } },
      { clock }
    )
    await mondayPeak(n, clock, "coder:7b")
    const before = loadsOf(a, "coder:7b") + loadsOf(b, "coder:7b")
    // 08:54: the peak is six minutes away, more than prewarm_minutes.
    expect((await plan(n)).actions).toEqual([])
    expect(autoLines(n, "load")).toEqual([])
    clock.advance(MIN)
    const statuses = await Promise.all(Array.from({ length: 3 }, () => n.post("/v1/chat/completions", chat("coder:7b")).then(async (r) => (await r.text(), r.status))))
    expect(statuses).toEqual([200, 200, 200])
    expect(loadsOf(a, "coder:7b") + loadsOf(b, "coder:7b") - before).toBe(1)
    const [line] = autoLines(n, "load")
    expect(String(line!.msg ?? line!.message)).toContain("usual demand Mon 09:00–10:00 (4 requests/week) starts in 5 min")
    const box = loadsOf(a, "coder:7b") ? "a" : "b"
    const metrics = await (await n.get("/metrics")).text()
    expect(metrics).toContain(`nexus_model_loads_total{backend="${box}",model="coder:7b",reason="prewarm"} 1\n`)
  }, 30_000)

  test("does not pre-warm where the only room would evict a model in use", async () => {
    const clock = testClock(MONDAY_0910)
    const a = await scope.emulator(
      startOllama({ models: [{ id: "big:14b", loaded: false, sizeBytes: 3 * GIB }, { id: "small:3b", sizeBytes: 2 * GIB }], chunks: 40, chunkDelayMs: 100, fleet: {} })
    )
    const n = await scope.nexus({ backends: [backend("a", a.url, "ollama", { memory_gb: 4 })], fleet: { auto: true } }, { clock })
    await mondayPeak(n, clock, "small:3b")
    const busy = await n.post("/v1/chat/completions", chat("big:14b", { stream: true }))
    expect(busy.status).toBe(200)
    // Its first bytes tell Nexus big:14b is loaded (the stream was committed before).
    await until(() => n.get("/v1/fleet").then((r) => r.json() as Promise<{ backends: { loaded: { model: string }[] }[] }>), (f) => f.backends[0]!.loaded.some((m) => m.model === "big:14b"), { what: "big:14b loaded and streaming" })
    // 08:55: the planner runs (synchronously, on the clock's timer) and keeps its hands off.
    clock.advance(MIN)
    expect(autoLines(n, "load")).toEqual([])
    const [keep] = (await plan(n)).actions
    expect(keep).toMatchObject({ action: "keep", kind: "prewarm", model: "small:3b", backend: "a" })
    expect(keep!.reason).toContain("no room for it without evicting a model in use")
    expect(a.fleet!.evictions).toEqual([])
    expect(loadsOf(a, "small:3b")).toBe(0)
    await busy.body?.cancel()
  }, 30_000)

  test("pre-warms on the box where loading evicts nothing in use, not on the preferred busy one", async () => {
    const clock = testClock(MONDAY_0910)
    // a is preferred, but its memory holds big:14b, which a stream will be using.
    const a = await scope.emulator(
      startOllama({ models: [{ id: "big:14b", loaded: false, sizeBytes: 3 * GIB }, { id: "small:3b", sizeBytes: 2 * GIB }], chunks: 40, chunkDelayMs: 100, fleet: {} })
    )
    const b = await scope.emulator(startOllama({ models: [{ id: "small:3b", loaded: false, sizeBytes: 2 * GIB }], fleet: {} }))
    const n = await scope.nexus(
      { backends: [backend("a", a.url, "ollama", { priority: 1, memory_gb: 4 }), backend("b", b.url, "ollama", { priority: 90, memory_gb: 8 })], fleet: { auto: true } },
      { clock }
    )
    await mondayPeak(n, clock, "small:3b")
    const busy = await n.post("/v1/chat/completions", chat("big:14b", { stream: true }))
    await until(() => n.get("/v1/fleet").then((r) => r.json() as Promise<{ backends: { backend: string; loaded: { model: string }[] }[] }>), (f) => f.backends.find((x) => x.backend === "a")!.loaded.some((m) => m.model === "big:14b"), { what: "big:14b loaded on a and streaming" })
    clock.advance(MIN)
    await eventually(() => loadsOf(b, "small:3b") === 1, 10_000, "small:3b pre-warmed on b")
    expect(String(autoLines(n, "load")[0]!.msg)).toContain("load small:3b on b: usual demand Mon 09:00–10:00")
    expect(a.fleet!.evictions).toEqual([])
    await busy.body?.cancel()
  }, 30_000)

  test("with auto off the plan and `nexus fleet plan` say what it would do; demand survives a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nexus-demand-"))
    scope.defer(async () => rmSync(dir, { recursive: true, force: true }))
    const a = await scope.emulator(startOllama({ models: [{ id: "coder:7b", sizeBytes: 2 * GIB }], fleet: {} }))
    const config = { backends: [backend("gpu-box", a.url, "ollama", { memory_gb: 16 })] }
    const first = await startNexus(config, { dataDir: dir, clock: testClock(MONDAY_0910) })
    await demand(first, "coder:7b", 8)
    await unload(first, "coder:7b")
    await first.stop(0)

    const clock = testClock(MONDAY_0910 + WEEK - 15 * MIN)
    const n = await scope.nexus(config, { dataDir: dir, clock })
    const p = await plan(n)
    expect(p).toMatchObject({ enabled: true, auto: false })
    expect(p.actions).toEqual([
      {
        action: "load",
        kind: "prewarm",
        model: "coder:7b",
        backend: "gpu-box",
        reason: "usual demand Mon 09:00–10:00 (4 requests/week) starts in 5 min; gpu-box has 16.0 GB free",
      },
    ])
    clock.advance(MIN)
    expect(autoLines(n, "load")).toEqual([])
    const out = await cli(["fleet", "plan", "--url", n.url])
    expect(out.stderr).toBe("")
    expect(out.stdout).toBe(
      "Auto is off ([fleet] auto = false): Nexus would do this next.\n" +
        "load   coder:7b on gpu-box (prewarm): usual demand Mon 09:00–10:00 (4 requests/week) starts in 4 min; gpu-box has 16.0 GB free\n"
    )
    expect(loadsOf(a, "coder:7b")).toBe(0)
  }, 30_000)
})

describe("a second copy for a growing queue", () => {
  test("loads it where there is room, unloads it once idle, never while in flight or pinned", async () => {
    const clock = testClock(MONDAY_0910)
    const a = await scope.emulator(startOllama({ models: [{ id: "m:7b", sizeBytes: 2 * GIB }], chunks: 100, chunkDelayMs: 100, fleet: {} }))
    const b = await scope.emulator(startOllama({ models: [{ id: "m:7b", loaded: false, sizeBytes: 2 * GIB }], chunks: 100, chunkDelayMs: 100, fleet: {} }))
    const n = await scope.nexus(
      {
        backends: [backend("a", a.url, "ollama", { priority: 1, memory_gb: 16 }), backend("b", b.url, "ollama", { priority: 90, memory_gb: 16 })],
        fleet: { auto: true, idle_unload_minutes: 15 },
      },
      { clock }
    )
    const streams: Response[] = []
    const more = async (count: number) => {
      for (let i = 0; i < count; i++) streams.push(await n.post("/v1/chat/completions", chat("m:7b", { stream: true })))
      await eventually(() => a.stats.inFlight === streams.length, 5000, `${streams.length} streams on a`)
    }
    // Two, three, four requests at three checks a minute apart: the queue keeps growing.
    await more(2)
    clock.advance(MIN)
    await more(1)
    clock.advance(MIN)
    expect(autoLines(n, "load")).toEqual([])
    await more(1)
    clock.advance(MIN)
    await eventually(() => loadsOf(b, "m:7b") === 1, 10_000, "a second copy on b")
    expect(String(autoLines(n, "load")[0]!.msg)).toContain("requests on m:7b at a grew 2 → 4 over 2 min; b has 16.0 GB free")
    expect(await (await n.get("/metrics")).text()).toContain('nexus_model_loads_total{backend="b",model="m:7b",reason="migrate"} 1\n')
    for (const s of streams) await s.body?.cancel()
    await eventually(() => n.inFlight() === 0, 10_000, "streams on a over")

    // A request in flight on the copy: past the idle time, it stays.
    expect((await n.post("/v1/backends/a/drain", {})).status).toBe(200)
    const onB = await n.post("/v1/chat/completions", chat("m:7b", { stream: true }))
    expect(onB.headers.get("x-nexus-backend")).toBe("b")
    await eventually(() => b.stats.inFlight === 1, 5000, "a stream on b")
    clock.advance(16 * MIN)
    expect(autoLines(n, "unload")).toEqual([])
    expect((await plan(n)).actions).toContainEqual(expect.objectContaining({ action: "keep", kind: "idle", backend: "b", reason: "second copy loaded for the queue on a; 1 request(s) in flight" }))
    await onB.body?.cancel()
    await eventually(() => n.inFlight() === 0, 10_000, "the stream on b over")

    // Pinned: idle or not, it stays.
    expect((await n.post("/v1/models/m:7b/pin", { backend: "b" })).status).toBe(200)
    clock.advance(16 * MIN)
    expect(autoLines(n, "unload")).toEqual([])
    expect(b.fleet!.resident().map((r) => r.model.id)).toEqual(["m:7b"])

    // Unpinned and idle: unloaded.
    expect((await n.post("/v1/models/m:7b/unpin", { backend: "b" })).status).toBe(200)
    clock.advance(MIN)
    await eventually(() => b.fleet!.resident().length === 0, 10_000, "the idle copy unloaded")
    expect(String(autoLines(n, "unload")[0]!.msg)).toMatch(/second copy loaded for the queue on a; idle for \d+ min \(idle_unload_minutes = 15\)/)
    expect(await (await n.get("/metrics")).text()).toContain('nexus_model_unloads_total{backend="b",model="m:7b",reason="idle"} 1\n')
    expect(a.fleet!.resident().map((r) => r.model.id)).toEqual(["m:7b"])
  }, 60_000)
})

describe("[fleet] enabled = false", () => {
  test("routes as a plain gateway: no placement by residency, no early commit, no pins, no plan", async () => {
    const a = await scope.emulator(
      startOllama({ models: [{ id: "big:14b", sizeBytes: 3 * GIB }, { id: "small:3b", loaded: false, sizeBytes: 2 * GIB }], chunks: 20, chunkDelayMs: 100, fleet: {} })
    )
    const b = await scope.emulator(startOllama({ models: [{ id: "small:3b", loaded: false, sizeBytes: 2 * GIB }], fleet: { loadMsPerGb: 200 } }))
    const n = await scope.nexus({
      backends: [backend("a", a.url, "ollama", { priority: 1, memory_gb: 4 }), backend("b", b.url, "ollama", { priority: 90, memory_gb: 8 })],
      fleet: { enabled: false, auto: true, pins: [{ model: "small:3b", backend: "b" }] },
      server: { sse_heartbeat_seconds: 0.2 },
    })
    const busy = await n.post("/v1/chat/completions", chat("big:14b", { stream: true }))
    await eventually(() => a.stats.inFlight === 1, 5000, "the stream on a under way")
    // With the fleet on this goes to b (fleet.test.ts); off, the router's order stands.
    const res = await n.post("/v1/chat/completions", chat("small:3b", { stream: true }))
    expect(res.headers.get("x-nexus-backend")).toBe("a")
    expect(res.headers.get("x-nexus-loading")).toBeNull()
    await res.text()
    await busy.body?.cancel()
    expect(await plan(n)).toEqual({ enabled: false, auto: true, actions: [] })
    const metrics = await (await n.get("/metrics")).text()
    expect(metrics).toMatch(/nexus_model_requests_total\{residency="cold"\} 0\n/)
    expect(loadsOf(b, "small:3b")).toBe(0)
    const unpinned = await n.post("/v1/models/small:3b/unload", { backend: "b" })
    expect(((await unpinned.json()) as { unloaded: { result: string }[] }).unloaded[0]!.result).toBe("not_loaded")
  }, 30_000)
})
