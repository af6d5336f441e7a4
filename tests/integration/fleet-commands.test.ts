/**
 * Load and unload on command, for each server type: Ollama (`keep_alive` on
 * /api/generate), LM Studio (/api/v1/models/load|unload), llama.cpp in router mode
 * (/models/load|unload, a load that finishes in the background); types without a
 * lifecycle API get a 409, and bad input a 400 in the OpenAI error shape. The CLI
 * drives the same API.
 */
import { describe, expect, test } from "bun:test"
import { startLlamacpp, startLmstudio, startOllama, startVllm } from "../../emulators/index.ts"
import { backend } from "../helpers/nexus.ts"
import { MAIN } from "../helpers/process.ts"
import { testScope } from "../helpers/scope.ts"
import { until } from "../helpers/wait.ts"

const scope = testScope()
const GIB = 1024 ** 3

type ErrorBody = { error: { code: string; message: string; type: string } }

async function cli(args: string[]) {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], { env: { ...process.env, NO_COLOR: "", NEXUS_URL: "" }, stdout: "pipe", stderr: "pipe" })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { stdout, stderr, code }
}

describe("each server type", () => {
  test("Ollama: load with a keep-alive, then unload", async () => {
    const o = await scope.emulator(startOllama({ models: [{ id: "qwen3:8b", loaded: false, sizeBytes: 5 * GIB }], fleet: {} }))
    const n = await scope.nexus({ backends: [backend("box", o.url, "ollama")] })
    const before = Date.now()
    const res = await n.post("/v1/models/qwen3:8b/load", { keep_alive: "30m" })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ backend: "box", model: "qwen3:8b", result: "loaded" })
    const [resident] = o.fleet!.resident()
    expect(resident!.model.id).toBe("qwen3:8b")
    expect(resident!.expiresAt! - before).toBeGreaterThanOrEqual(30 * 60_000)
    // The gateway knows at once, without waiting for the next probe.
    const view = (await (await n.get("/v1/backends/box")).json()) as { lifecycle: string; models: { id: string; loaded: boolean }[] }
    expect(view.lifecycle).toBe("managed")
    expect(view.models).toEqual([expect.objectContaining({ id: "qwen3:8b", loaded: true })])
    const off = await n.post("/v1/models/qwen3:8b/unload", {})
    expect(await off.json()).toEqual({ unloaded: [{ backend: "box", model: "qwen3:8b", result: "unloaded" }] })
    expect(o.fleet!.resident()).toEqual([])
  })

  test("LM Studio: load and unload through its REST API", async () => {
    const lm = await scope.emulator(startLmstudio({ models: [{ id: "qwen/qwen3-4b", loaded: false }], fleet: {} }))
    const n = await scope.nexus({ backends: [backend("studio", lm.url, "lmstudio")] })
    // Its REST load takes no keep-alive: asking for one is refused, not ignored.
    const keep = await n.post("/v1/models/qwen/qwen3-4b/load", { keep_alive: "30m" })
    expect(keep.status).toBe(409)
    expect(((await keep.json()) as ErrorBody).error.code).toBe("keep_alive_unsupported")
    const res = await n.post(`/v1/models/${encodeURIComponent("qwen/qwen3-4b")}/load`, { backend: "studio" })
    expect(res.status).toBe(200)
    expect(lm.fleet!.loads["qwen/qwen3-4b"]).toBe(1)
    // Loaded already: no second instance.
    expect(await (await n.post("/v1/models/qwen/qwen3-4b/load", {})).json()).toMatchObject({ result: "already_loaded" })
    expect(lm.fleet!.loads["qwen/qwen3-4b"]).toBe(1)
    const off = await n.post("/v1/models/qwen/qwen3-4b/unload", { backend: "studio" })
    expect(off.status).toBe(200)
    expect(lm.stats.byPath["/api/v1/models/unload"]).toBe(1)
    expect(lm.fleet!.resident()).toEqual([])
  })

  test("llama.cpp router mode: a load that completes in the background, then unload", async () => {
    const l = await scope.emulator(startLlamacpp({ router: true, models: [{ id: "gemma-3-4b", loaded: false, sizeBytes: GIB }], fleet: { loadMsPerGb: 300 } }))
    const n = await scope.nexus({ backends: [backend("router", l.url, "llamacpp")] })
    const res = await n.post("/v1/models/gemma-3-4b/load", {})
    expect(res.status).toBe(200)
    // The answer comes once the router reports the model loaded, not when it accepted the load.
    expect(l.state.loaded.get("gemma-3-4b")).toBe(true)
    expect(l.fleet!.loads["gemma-3-4b"]).toBe(1)
    const off = await n.post("/v1/models/gemma-3-4b/unload", {})
    expect(off.status).toBe(200)
    expect(l.state.loaded.get("gemma-3-4b")).toBe(false)
  })

  test("vLLM and a plain llama.cpp server have no lifecycle API: 409, and always loaded", async () => {
    const v = await scope.emulator(startVllm({ models: ["served-model"] }))
    const plain = await scope.emulator(startLlamacpp({ models: ["one-model"] }))
    const n = await scope.nexus({ backends: [backend("gpu", v.url, "vllm"), backend("plain", plain.url, "llamacpp")] })
    for (const [path, body] of [["/v1/models/served-model/load", {}], ["/v1/models/served-model/unload", {}], ["/v1/models/one-model/unload", {}]] as const) {
      const res = await n.post(path, body)
      expect(res.status).toBe(409)
      expect(((await res.json()) as ErrorBody).error.code).toBe("lifecycle_unsupported")
    }
    const fleet = (await (await n.get("/v1/fleet")).json()) as { backends: { backend: string; lifecycle: string }[] }
    expect(fleet.backends.find((b) => b.backend === "gpu")!.lifecycle).toBe("always_loaded")
    // The dashboard's model matrix says so too.
    expect(await (await fetch(`${n.url}/dashboard`)).text()).toContain("✓ always loaded")
  })
})

describe("bad input", () => {
  test("unknown model or backend 404, bad keep_alive or field 400, all in the OpenAI shape", async () => {
    const o = await scope.emulator(startOllama({ models: [{ id: "m:1b", loaded: false }], fleet: {} }))
    const n = await scope.nexus({ backends: [backend("box", o.url, "ollama")] })
    const cases: [string, unknown, number, string][] = [
      ["/v1/models/nope/load", {}, 404, "model_not_found"],
      ["/v1/models/m:1b/load", { backend: "elsewhere" }, 404, "backend_not_found"],
      ["/v1/models/m:1b/load", { keep_alive: "soon" }, 400, "invalid_request"],
      ["/v1/models/m:1b/load", { keepalive: "5m" }, 400, "invalid_request"],
      ["/v1/models/m:1b/pin", {}, 400, "invalid_request"],
      ["/v1/models/m:1b/load", "[1]", 400, "invalid_json"],
    ]
    for (const [path, body, status, code] of cases) {
      const res = await n.post(path, body)
      expect([path, res.status]).toEqual([path, status])
      const err = ((await res.json()) as ErrorBody).error
      expect(err.code).toBe(code)
      expect(err.message.length).toBeGreaterThan(10)
    }
    expect(o.fleet!.loads).toEqual({})
  })
})

describe("the CLI", () => {
  test("nexus models load / pin / unload, and backends list says which keep models always loaded", async () => {
    const o = await scope.emulator(startOllama({ models: [{ id: "coder:7b", loaded: false }], fleet: {} }))
    const v = await scope.emulator(startVllm({ models: ["served-model"] }))
    const n = await scope.nexus({ backends: [backend("box", o.url, "ollama"), backend("gpu", v.url, "vllm")] })
    const loaded = await cli(["models", "load", "coder:7b", "--backend", "box", "--keep-alive", "30m", "--url", n.url])
    expect(loaded.stderr).toBe("")
    expect(loaded.stdout).toMatch(/^Loaded coder:7b on box \(\d+\.\d s\)\n$/)
    const pinned = await cli(["models", "pin", "coder:7b", "--backend", "box", "--url", n.url])
    expect(pinned.stdout).toMatch(/^Pinned coder:7b on box/)
    const refused = await cli(["models", "unload", "coder:7b", "--url", n.url])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("pinned on box")
    expect((await cli(["models", "unpin", "coder:7b", "--backend", "box", "--url", n.url])).code).toBe(0)
    const unloaded = await cli(["models", "unload", "coder:7b", "--url", n.url])
    expect(unloaded.stdout).toBe("Unloaded coder:7b on box\n")
    expect(o.fleet!.resident()).toEqual([])
    const list = await cli(["backends", "list", "--url", n.url])
    expect(list.stdout.split("\n").find((l) => l.startsWith("gpu"))).toContain("1 (always loaded)")
    await until(() => cli(["backends", "list", "--url", n.url]), (r) => r.stdout.split("\n").some((l) => l.startsWith("box") && l.includes("1 (0 loaded)")), { what: "box shows its model unloaded" })
    const bad = await cli(["models", "load", "coder:7b", "--keep-alive", "soon", "--url", n.url])
    expect(bad.code).toBe(2)
  }, 30_000)
})
