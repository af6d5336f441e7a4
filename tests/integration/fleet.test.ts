/**
 * The fleet against emulated servers that really load and unload models (load time by
 * size, a memory budget, eviction of the least recently used idle model): a cold model
 * is placed away from a busy box, concurrent requests for it share one load, a model
 * with requests in flight or a pin is never unloaded, and pins load what they hold.
 */
import { describe, expect, test } from "bun:test"
import { startOllama } from "../../emulators/index.ts"
import type { OllamaEmulator } from "../../emulators/ollama.ts"
import { backend, chat, type TestNexus } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually, until } from "../helpers/wait.ts"
import { readEvents } from "../helpers/sse.ts"

const scope = testScope()
const GIB = 1024 ** 3

const loadsOf = (e: OllamaEmulator, model: string) => e.fleet!.loads[model] ?? 0

async function fleetBackends(n: TestNexus) {
  return ((await (await n.get("/v1/fleet")).json()) as { backends: { backend: string; loaded: { model: string }[] }[] }).backends
}

describe("placing a cold model", () => {
  test("concurrent requests for a model cold everywhere wait for one load on one box", async () => {
    const start = () => scope.emulator(startOllama({ models: [{ id: "coder:7b", loaded: false, sizeBytes: 2 * GIB }], fleet: { loadMsPerGb: 300 } }))
    const [a, b] = await Promise.all([start(), start()])
    const n = await scope.nexus({ backends: [backend("a", a.url, "ollama"), backend("b", b.url, "ollama")] })
    const statuses = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const res = await n.post("/v1/chat/completions", chat("coder:7b"))
        await res.text()
        return res.status
      })
    )
    expect(statuses).toEqual(Array(6).fill(200))
    expect(loadsOf(a, "coder:7b") + loadsOf(b, "coder:7b")).toBe(1)
    const box = loadsOf(a, "coder:7b") ? "a" : "b"
    const metrics = await (await n.get("/metrics")).text()
    expect(metrics).toContain(`nexus_model_loads_total{backend="${box}",model="coder:7b",reason="request"} 1\n`)
    expect(metrics).toContain(`nexus_model_load_seconds_count{backend="${box}",model="coder:7b"} 1\n`)
    expect(metrics).toMatch(/nexus_model_requests_total\{residency="cold"\} 6\n/)
    // The next request finds it loaded.
    await (await n.post("/v1/chat/completions", chat("coder:7b"))).text()
    expect(await (await n.get("/metrics")).text()).toMatch(/nexus_model_warm_hit_ratio 0\.142/)
  }, 20_000)

  test("goes to the box where loading evicts nothing in use, not to the preferred busy one", async () => {
    // a is preferred (priority 1) but its memory holds `big`, which a stream is using.
    const a = await scope.emulator(
      startOllama({ models: [{ id: "big:14b", sizeBytes: 3 * GIB }, { id: "small:3b", loaded: false, sizeBytes: 2 * GIB }], chunks: 50, chunkDelayMs: 100, fleet: {} })
    )
    const b = await scope.emulator(startOllama({ models: [{ id: "small:3b", loaded: false, sizeBytes: 2 * GIB }], fleet: {} }))
    const n = await scope.nexus({ backends: [backend("a", a.url, "ollama", { priority: 1, memory_gb: 4 }), backend("b", b.url, "ollama", { priority: 90, memory_gb: 8 })] })
    const busy = await n.post("/v1/chat/completions", chat("big:14b", { stream: true }))
    expect(busy.status).toBe(200)
    await eventually(() => a.stats.inFlight === 1, 5000, "the stream on a under way")
    const res = await n.post("/v1/chat/completions", chat("small:3b"))
    expect(res.status).toBe(200)
    expect(res.headers.get("x-nexus-backend")).toBe("b")
    await res.text()
    expect(a.fleet!.evictions).toEqual([])
    await busy.body?.cancel()
  }, 20_000)
})

describe("load, unload and pin", () => {
  test("a model with a request in flight is not unloaded (409); once it ends it is", async () => {
    const a = await scope.emulator(startOllama({ models: [{ id: "m:1b", sizeBytes: GIB }], chunks: 40, chunkDelayMs: 100, fleet: {} }))
    const n = await scope.nexus({ backends: [backend("a", a.url, "ollama")] })
    const stream = await n.post("/v1/chat/completions", chat("m:1b", { stream: true }))
    await eventually(() => a.stats.inFlight === 1, 5000, "the stream under way")
    const refused = await n.post("/v1/models/m:1b/unload", {})
    expect(refused.status).toBe(409)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("model_in_use")
    expect(a.fleet!.resident().map((r) => r.model.id)).toEqual(["m:1b"])
    await stream.text()
    const ok = await n.post("/v1/models/m:1b/unload", {})
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ unloaded: [{ backend: "a", model: "m:1b", result: "unloaded" }] })
    expect(a.fleet!.resident()).toEqual([])
  }, 20_000)

  test("a pinned model is loaded on its backend and never unloaded", async () => {
    const a = await scope.emulator(startOllama({ models: [{ id: "pinned:8b", loaded: false, sizeBytes: GIB }], fleet: {} }))
    const n = await scope.nexus({
      backends: [backend("a", a.url, "ollama")],
      fleet: { pins: [{ model: "pinned:8b", backend: "a" }] },
    })
    await eventually(() => loadsOf(a, "pinned:8b") === 1, 5000, "the pin loaded the model")
    const res = await n.post("/v1/models/pinned:8b/unload", { backend: "a" })
    expect(res.status).toBe(409)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("model_pinned")
    expect(a.fleet!.resident().map((r) => r.model.id)).toEqual(["pinned:8b"])
    await until(() => fleetBackends(n), (list) => list[0]!.loaded.some((m) => m.model === "pinned:8b"), { what: "the fleet view shows it loaded" })
  }, 20_000)
})

describe("pins on a model already loaded", () => {
  test("a pinned model that would expire is renewed for as long as the pin holds, not loaded again", async () => {
    const a = await scope.emulator(startOllama({ models: [{ id: "coder:7b", sizeBytes: GIB }], fleet: { keepAliveMs: 5 * 60_000 } }))
    expect(a.fleet!.resident()[0]!.expiresAt).toBeNumber()
    const n = await scope.nexus({ backends: [backend("a", a.url, "ollama")], fleet: { pins: [{ model: "coder:7b", backend: "a" }] } })
    await eventually(() => a.fleet!.resident()[0]?.expiresAt === undefined, 5000, "kept loaded without an expiry")
    expect(a.fleet!.loads).toEqual({})
    expect(await (await n.get("/metrics")).text()).not.toContain("nexus_model_loads_total{")
  })
})

describe("streaming while a model loads", () => {
  test("the stream starts at once with comments (and, opted in, a loading notice), then the answer", async () => {
    const a = await scope.emulator(startOllama({ models: [{ id: "coder:7b", loaded: false, sizeBytes: 2 * GIB }], fleet: { loadMsPerGb: 1500 } }))
    const n = await scope.nexus({ backends: [backend("gpu-box", a.url, "ollama")], server: { sse_heartbeat_seconds: 0.2 }, fleet: { loading_status: true } })
    const res = await n.post("/v1/chat/completions", chat("coder:7b", { stream: true }))
    // Committed before the load is over: the emulator has not answered yet.
    expect(res.status).toBe(200)
    expect(res.headers.get("x-nexus-loading")).toBe("gpu-box")
    expect(loadsOf(a, "coder:7b")).toBe(0)
    const { events, data, done } = await readEvents(res)
    expect(events[0]).toBe(": loading coder:7b")
    expect(JSON.parse(data[0]!).choices[0].delta.reasoning_content).toBe("loading coder:7b on gpu-box\n")
    expect(events.filter((e) => e === ": keep-alive").length).toBeGreaterThan(0)
    expect(data.slice(1).some((d) => d.includes("Hello"))).toBe(true)
    expect(done).toBe(1)
    expect(loadsOf(a, "coder:7b")).toBe(1)
    expect(n.inFlight()).toBe(0)
  }, 20_000)

  test("a load that then fails ends the committed stream with an error event, and a warm model is not touched", async () => {
    const a = await scope.emulator(startOllama({ models: [{ id: "cold:1b", loaded: false }, { id: "warm:1b" }], fleet: { loadMsPerGb: 100 } }))
    const n = await scope.nexus({ backends: [backend("box", a.url, "ollama")], routing: { max_retries: 0 } })
    a.faults.status = 500
    const res = await n.post("/v1/chat/completions", chat("cold:1b", { stream: true }))
    expect(res.status).toBe(200)
    const { data, done } = await readEvents(res)
    expect(JSON.parse(data[0]!).error.message).toContain("500")
    expect(done).toBe(1)
    await eventually(() => n.inFlight() === 0, 5000, "slots released")
    // Warm: no early commit, the error status as before.
    const warm = await n.post("/v1/chat/completions", chat("warm:1b", { stream: true }))
    expect(warm.status).toBe(502)
    expect(warm.headers.get("x-nexus-loading")).toBeNull()
  }, 20_000)
})
