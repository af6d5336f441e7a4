/**
 * What the fleet commands promise, held against every way round them: a load that would
 * unload, an unload without a backend in a mixed fleet, pins with fleet management off.
 */
import { describe, expect, test } from "bun:test"
import { startOllama, startOpenai, startVllm } from "../../emulators/index.ts"
import { backend, chat } from "../helpers/nexus.ts"
import { testClock } from "../helpers/clock.ts"
import { MAIN } from "../helpers/process.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually } from "../helpers/wait.ts"

const scope = testScope()
const GIB = 1024 ** 3
const KEY = { OPENAI_TEST_KEY: "sk-oai-secret-9999" }

type ErrorBody = { error: { code: string; message: string; param?: string } }

async function cli(args: string[]) {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], { env: { ...process.env, NO_COLOR: "", NEXUS_URL: "" }, stdout: "pipe", stderr: "pipe" })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { stdout, stderr, code }
}

describe("a load with a keep-alive of 0", () => {
  test("is refused with a 400 naming keep_alive, pinned, in use or cold: nothing unloads, nothing is learned", async () => {
    const o = await scope.emulator(
      startOllama({
        models: [{ id: "pinned:3b", sizeBytes: GIB }, { id: "busy:1b", sizeBytes: GIB }, { id: "cold:1b", loaded: false, sizeBytes: GIB }],
        chunks: 40,
        chunkDelayMs: 100,
        fleet: { keepAliveMs: 30 * 60_000 },
      })
    )
    const n = await scope.nexus({ backends: [backend("box", o.url, "ollama")], fleet: { pins: [{ model: "pinned:3b", backend: "box" }] } })
    const stream = await n.post("/v1/chat/completions", chat("busy:1b", { stream: true }))
    await eventually(() => o.stats.inFlight === 1, 5000, "the stream under way")
    for (const [model, keep] of [["pinned:3b", 0], ["pinned:3b", "0s"], ["busy:1b", 0], ["cold:1b", "0"]] as const) {
      const res = await n.post(`/v1/models/${model}/load`, { keep_alive: keep, backend: "box" })
      const err = ((await res.json()) as ErrorBody).error
      expect([model, keep, res.status, err.code, err.param]).toEqual([model, keep, 400, "invalid_request", "keep_alive"])
      expect(err.message).toContain("unload")
    }
    const viaCli = await cli(["models", "load", "pinned:3b", "--keep-alive", "0", "--url", n.url])
    expect(viaCli.code).not.toBe(0)
    expect(viaCli.stderr).toContain("keep_alive")
    expect(o.fleet!.resident().map((r) => r.model.id).sort()).toEqual(["busy:1b", "pinned:3b"])
    expect(o.fleet!.loads).toEqual({})
    const fleet = (await (await n.get("/v1/fleet")).json()) as { backends: { load_ms: Record<string, number> }[] }
    expect(fleet.backends[0]!.load_ms).toEqual({})
    await stream.text()
  }, 30_000)
})

describe("unload without a backend", () => {
  test("unloads where it is loaded on backends that can, though a vLLM box and a cloud list the model too", async () => {
    const o = await scope.emulator(startOllama({ models: [{ id: "gpt-4o-mini", sizeBytes: GIB }], fleet: {} }))
    const v = await scope.emulator(startVllm({ models: ["gpt-4o-mini"] }))
    const oai = await scope.emulator(startOpenai({ apiKey: KEY.OPENAI_TEST_KEY }))
    const n = await scope.nexus(
      { backends: [backend("box", o.url, "ollama"), backend("gpu", v.url, "vllm"), backend("oai", oai.url, "openai", { api_key_env: "OPENAI_TEST_KEY" })] },
      { env: KEY }
    )
    const res = await n.post("/v1/models/gpt-4o-mini/unload", {})
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ unloaded: [{ backend: "box", model: "gpt-4o-mini", result: "unloaded" }] })
    expect(o.fleet!.resident()).toEqual([])
    // Named, a backend without a lifecycle API still says so.
    const named = await n.post("/v1/models/gpt-4o-mini/unload", { backend: "gpu" })
    expect(named.status).toBe(409)
    expect(((await named.json()) as ErrorBody).error.code).toBe("lifecycle_unsupported")
  }, 20_000)
})

describe("fleet management off", () => {
  test("a pin is refused with 409 fleet_disabled naming the key, and loads nothing", async () => {
    const o = await scope.emulator(startOllama({ models: [{ id: "m:1b", loaded: false, sizeBytes: GIB }], fleet: {} }))
    const n = await scope.nexus({ backends: [backend("box", o.url, "ollama")], fleet: { enabled: false } })
    const res = await n.post("/v1/models/m:1b/pin", { backend: "box" })
    const err = ((await res.json()) as ErrorBody).error
    expect([res.status, err.code]).toEqual([409, "fleet_disabled"])
    expect(err.message).toContain("[fleet] enabled")
    expect(o.fleet!.loads).toEqual({})
    const viaCli = await cli(["models", "pin", "m:1b", "--backend", "box", "--url", n.url])
    expect(viaCli.code).not.toBe(0)
    expect(viaCli.stdout).toBe("")
  }, 20_000)
})

describe("pins in the file", () => {
  test("are resolved as requests are (case, alias, :latest): loaded, shown resolved, never unloaded", async () => {
    const o = await scope.emulator(
      startOllama({ models: [{ id: "private:7b", loaded: false, sizeBytes: GIB }, { id: "coder:7b", loaded: false, sizeBytes: GIB }, { id: "plain:latest", loaded: false, sizeBytes: GIB }], fleet: {} })
    )
    const n = await scope.nexus({
      backends: [backend("box", o.url, "ollama")],
      routing: { aliases: { fast: "coder:7b" } },
      fleet: { pins: [{ model: "Private:7B", backend: "box" }, { model: "fast", backend: "box" }, { model: "plain", backend: "box" }] },
    })
    await eventually(() => o.fleet!.resident().length === 3, 5000, "every pin loaded its model")
    const fleet = (await (await n.get("/v1/fleet")).json()) as { pins: { model: string }[]; backends: { loaded: { model: string; pinned: boolean }[] }[] }
    expect(fleet.pins.map((p) => p.model)).toEqual(["private:7b", "coder:7b", "plain:latest"])
    expect(fleet.backends[0]!.loaded.every((m) => m.pinned)).toBe(true)
    for (const model of ["private:7b", "coder:7b", "fast", "PLAIN"]) {
      const res = await n.post(`/v1/models/${model}/unload`, { backend: "box" })
      const err = ((await res.json()) as ErrorBody).error
      expect([model, res.status, err.code]).toEqual([model, 409, "model_pinned"])
    }
    expect(o.fleet!.resident()).toHaveLength(3)
  }, 20_000)
})

describe("the plan", () => {
  test("pre-warms a local model though a cloud lists it too (the cloud is never a warm copy)", async () => {
    /** Monday 7 December 2026, 09:10 local time. */
    const monday = new Date(2026, 11, 7, 9, 10).getTime()
    const clock = testClock(monday)
    const o = await scope.emulator(startOllama({ models: [{ id: "gpt-4o-mini", loaded: false, sizeBytes: GIB }], fleet: {} }))
    const oai = await scope.emulator(startOpenai({ apiKey: KEY.OPENAI_TEST_KEY }))
    const n = await scope.nexus(
      { backends: [backend("box", o.url, "ollama", { memory_gb: 8 }), backend("oai", oai.url, "openai", { api_key_env: "OPENAI_TEST_KEY" })] },
      { env: KEY, clock }
    )
    for (let i = 0; i < 8; i++) {
      const res = await n.post("/v1/chat/completions", chat("gpt-4o-mini"))
      await res.text()
      expect(res.headers.get("x-nexus-backend")).toBe("box")
    }
    expect((await n.post("/v1/models/gpt-4o-mini/unload", {})).status).toBe(200)
    // Next Monday 08:55: the usual demand starts in five minutes.
    clock.advanceTo(monday + 7 * 24 * 3_600_000 - 15 * 60_000)
    const plan = (await (await n.get("/v1/fleet/plan")).json()) as { actions: { action: string; kind: string; model: string; backend: string }[] }
    expect(plan.actions).toEqual([expect.objectContaining({ action: "load", kind: "prewarm", model: "gpt-4o-mini", backend: "box" })])
  }, 20_000)
})
