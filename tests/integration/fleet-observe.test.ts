/**
 * Seeing the fleet: `nexus fleet` (memory bar, loaded models with size, expiry, in flight
 * and pin, learned load times, always-loaded boxes, recent loads) read from `GET
 * /v1/fleet` with the admin token; the residency metrics after real cold loads through
 * the gateway; and both sources of the learned cold-load time (a request's first answer,
 * an explicit load).
 */
import { describe, expect, test } from "bun:test"
import { startOllama, startVllm } from "../../emulators/index.ts"
import { backend, chat, type TestNexus } from "../helpers/nexus.ts"
import { MAIN } from "../helpers/process.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually, until } from "../helpers/wait.ts"

const scope = testScope()
const GIB = 1024 ** 3
const TOKEN = "fleet-observe-admin-token"

async function cli(args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], { env: { ...process.env, NO_COLOR: "1", NEXUS_URL: "", NEXUS_ADMIN_TOKEN: "", ...env }, stdout: "pipe", stderr: "pipe" })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { stdout, stderr, code }
}

interface FleetBody {
  backends: { backend: string; load_ms: Record<string, number>; used_bytes: number; always_loaded: string[] }[]
  recent_loads: { backend: string; model: string; reason: string; seconds: number }[]
}

const fleetOf = async (n: TestNexus) => (await (await n.get("/v1/fleet")).json()) as FleetBody

async function metric(n: TestNexus, series: string): Promise<number | undefined> {
  const text = await (await n.get("/metrics")).text()
  const line = text.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe("nexus fleet", () => {
  test("shows each box's memory and models, load times, recent loads, and always-loaded boxes", async () => {
    const o = await scope.emulator(
      startOllama({
        models: [{ id: "coder:7b", loaded: false, sizeBytes: 2 * GIB }, { id: "warm:1b", sizeBytes: GIB }, { id: "pinned:3b", sizeBytes: 3 * GIB }],
        fleet: { loadMsPerGb: 100, keepAliveMs: 30 * 60_000 },
      })
    )
    const v = await scope.emulator(startVllm({ models: [{ id: "served/model" }] }))
    const n = await scope.nexus({
      server: { admin_token: TOKEN },
      backends: [backend("gpu-box", o.url, "ollama", { memory_gb: 8 }), backend("vllm-box", v.url, "vllm")],
      fleet: { pins: [{ model: "pinned:3b", backend: "gpu-box" }] },
    })
    const res = await n.post("/v1/chat/completions", chat("coder:7b"))
    expect(res.status).toBe(200)
    await res.text()

    const { stdout, stderr, code } = await cli(["fleet", "--url", n.url], { NEXUS_ADMIN_TOKEN: TOKEN })
    expect(stderr).toBe("")
    expect(code).toBe(0)
    const lines = stdout.split("\n")
    expect(lines).toContain("gpu-box (ollama)")
    // 6 of 8 GB: 15 of 20 cells.
    expect(lines).toContain(`  memory: [${"#".repeat(15)}${"-".repeat(5)}] 6.0 GB / 8.0 GB`)
    // Loaded by the request: its expiry is known once the server is next asked.
    expect(stdout).toMatch(/^ {2}coder:7b {3}2\.0 GB(, expires in 30 min)?$/m)
    expect(stdout).toMatch(/^ {2}warm:1b {4}1\.0 GB, expires in 30 min$/m)
    // The pin renews it to no expiry, in the background.
    expect(stdout).toMatch(/^ {2}pinned:3b {2}3\.0 GB, (expires in 30 min|no expiry), pinned$/m)
    expect(stdout).toMatch(/^ {2}load times: coder:7b \d+\.\d s/m)
    expect(lines).toContain("vllm-box (vllm): always loaded (no load/unload API): served/model")
    expect(stdout).toMatch(/^Recent loads:\n {2}\d\d:\d\d:\d\d {2}coder:7b on gpu-box, request, \d+\.\d s$/m)
    expect(stdout).toContain("Requests: 0 found their model loaded, 1 waited for a load (0.0% warm)")

    const json = JSON.parse((await cli(["fleet", "--json", "--url", n.url], { NEXUS_ADMIN_TOKEN: TOKEN })).stdout) as FleetBody
    expect(json.backends.map((b) => [b.backend, b.used_bytes, b.always_loaded])).toEqual([
      ["gpu-box", 6 * GIB, []],
      ["vllm-box", 0, ["served/model"]],
    ])
  }, 20_000)

  test("with [auth] required it sends the admin token, and says the refusal without it", async () => {
    const o = await scope.emulator(startOllama({ models: [{ id: "m:1b", sizeBytes: GIB }], fleet: {} }))
    const n = await scope.nexus({ server: { admin_token: TOKEN }, auth: { required: true }, backends: [backend("box", o.url, "ollama")] })
    const refused = await cli(["fleet", "--url", n.url])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("admin token")
    const ok = await cli(["fleet", "--url", n.url], { NEXUS_ADMIN_TOKEN: TOKEN })
    expect(ok.code).toBe(0)
    expect(ok.stdout).toContain("box (ollama)")
  }, 20_000)

  test("a model with a request in flight says so; a box without a budget says how to set one", async () => {
    const o = await scope.emulator(startOllama({ models: [{ id: "m:1b", sizeBytes: GIB }], chunks: 40, chunkDelayMs: 100, fleet: {} }))
    const n = await scope.nexus({ backends: [backend("box", o.url, "ollama")] })
    const stream = await n.post("/v1/chat/completions", chat("m:1b", { stream: true }))
    await eventually(() => o.stats.inFlight === 1, 5000, "the stream under way")
    const { stdout } = await cli(["fleet", "--url", n.url])
    expect(stdout).toContain("  memory: 1.0 GB used (no budget known: set memory_gb on this backend)")
    expect(stdout).toMatch(/^ {2}m:1b {2}1\.0 GB, no expiry, 1 in flight$/m)
    await stream.body?.cancel()
  }, 20_000)
})

describe("residency metrics after real cold loads", () => {
  test("loads by reason, load seconds, and warm and cold requests count what happened", async () => {
    const o = await scope.emulator(
      startOllama({ models: [{ id: "a:1b", loaded: false, sizeBytes: GIB }, { id: "b:1b", loaded: false, sizeBytes: GIB }], fleet: { loadMsPerGb: 200 } })
    )
    const n = await scope.nexus({ backends: [backend("box", o.url, "ollama")] })
    expect(await metric(n, "nexus_model_warm_hit_ratio")).toBe(1)
    await (await n.post("/v1/chat/completions", chat("a:1b"))).text()
    expect(await metric(n, 'nexus_model_loads_total{backend="box",model="a:1b",reason="request"}')).toBe(1)
    expect(await metric(n, 'nexus_model_requests_total{residency="cold"}')).toBe(1)
    expect(await metric(n, 'nexus_model_requests_total{residency="warm"}')).toBe(0)
    expect(await metric(n, "nexus_model_warm_hit_ratio")).toBe(0)
    // The load slept 200 ms in the emulator: the histogram saw at least that.
    expect(await metric(n, 'nexus_model_load_seconds_sum{backend="box",model="a:1b"}')).toBeGreaterThanOrEqual(0.2)
    expect(await metric(n, 'nexus_model_load_seconds_bucket{le="0.5",backend="box",model="a:1b"}')).toBe(1)

    for (let i = 0; i < 3; i++) await (await n.post("/v1/chat/completions", chat("a:1b"))).text()
    expect(await metric(n, 'nexus_model_requests_total{residency="warm"}')).toBe(3)
    expect(await metric(n, "nexus_model_warm_hit_ratio")).toBe(0.75)
    expect(await metric(n, 'nexus_model_loads_total{backend="box",model="a:1b",reason="request"}')).toBe(1)

    const load = await n.post("/v1/models/b:1b/load", {})
    expect(load.status).toBe(200)
    expect(await metric(n, 'nexus_model_loads_total{backend="box",model="b:1b",reason="explicit"}')).toBe(1)
    expect(await metric(n, 'nexus_model_load_seconds_count{backend="box",model="b:1b"}')).toBe(1)
  }, 20_000)
})

describe("learned cold-load times", () => {
  test("a cold request's first answer and an explicit load both teach the box's load time", async () => {
    const o = await scope.emulator(
      startOllama({ models: [{ id: "req:2b", loaded: false, sizeBytes: 2 * GIB }, { id: "cmd:2b", loaded: false, sizeBytes: 2 * GIB }], fleet: { loadMsPerGb: 300 } })
    )
    const n = await scope.nexus({ backends: [backend("box", o.url, "ollama")] })
    expect((await fleetOf(n)).backends[0]!.load_ms).toEqual({})
    await (await n.post("/v1/chat/completions", chat("req:2b"))).text()
    expect(Object.keys((await fleetOf(n)).backends[0]!.load_ms)).toEqual(["req:2b"])
    expect((await n.post("/v1/models/cmd:2b/load", {})).status).toBe(200)
    const fleet = await fleetOf(n)
    // Each load slept 600 ms in the emulator: what was learned is at least that.
    expect(fleet.backends[0]!.load_ms["req:2b"]).toBeGreaterThanOrEqual(600)
    expect(fleet.backends[0]!.load_ms["cmd:2b"]).toBeGreaterThanOrEqual(600)
    expect(fleet.recent_loads.map((l) => [l.backend, l.model, l.reason])).toEqual([
      ["box", "req:2b", "request"],
      ["box", "cmd:2b", "explicit"],
    ])
    // A second load of the same model moves the learned time rather than adding a new one.
    expect((await n.post("/v1/models/cmd:2b/unload", {})).status).toBe(200)
    expect((await n.post("/v1/models/cmd:2b/load", {})).status).toBe(200)
    const again = (await fleetOf(n)).backends[0]!
    expect(Object.keys(again.load_ms).sort()).toEqual(["cmd:2b", "req:2b"])
    expect(again.load_ms["cmd:2b"]).toBeGreaterThanOrEqual(600)
  }, 20_000)

  test("a load a probe notices before the first answer still counts, and still teaches its time", async () => {
    // The model is loaded after 200 ms; the first answer takes 1.5 s more (prompt processing),
    // while probes every 100 ms see it in /api/ps.
    const o = await scope.emulator(startOllama({ models: [{ id: "slow:2b", loaded: false, sizeBytes: 2 * GIB }], latencyMs: 1500, fleet: { loadMsPerGb: 100 } }))
    const n = await scope.nexus({ health_check: { interval_seconds: 0.1 }, backends: [backend("box", o.url, "ollama")] })
    const res = n.post("/v1/chat/completions", chat("slow:2b"))
    await until(fleetOf.bind(null, n), (f) => f.backends[0]!.used_bytes > 0, { what: "a probe seeing it loaded" })
    await (await res).text()
    expect(await metric(n, 'nexus_model_loads_total{backend="box",model="slow:2b",reason="request"}')).toBe(1)
    expect((await fleetOf(n)).backends[0]!.load_ms["slow:2b"]).toBeGreaterThanOrEqual(1700)
  }, 20_000)
})
