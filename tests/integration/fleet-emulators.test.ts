/**
 * The emulators' model residency, on the wire: load time grows with size, a box holds
 * at most its memory and `maxLoaded` models and evicts the least recently used idle one,
 * `keep_alive` expiry (on a clock the test moves), concurrent requests share one load,
 * and the load/unload APIs of Ollama, LM Studio and llama.cpp's router mode.
 */
import { describe, expect, test } from "bun:test"
import { startLlamacpp, startLmstudio, startOllama } from "../../emulators/index.ts"
import { testScope } from "../helpers/scope.ts"
import { until } from "../helpers/wait.ts"

const scope = testScope()
const GIB = 1024 ** 3
const post = (url: string, body: unknown) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
const ps = async (url: string) => ((await (await fetch(`${url}/api/ps`)).json()) as { models: { name: string; size: number; size_vram: number; expires_at: string }[] }).models

describe("Ollama", () => {
  test("evicts the least recently used idle model at OLLAMA_MAX_LOADED_MODELS, and expires idle ones", async () => {
    let now = 1_000_000
    const models = ["a", "b", "c"].map((id) => ({ id, loaded: false, sizeBytes: GIB }))
    const o = await scope.emulator(startOllama({ models, fleet: { maxLoaded: 2, now: () => now } }))
    for (const id of ["a", "b"]) expect((await (await post(`${o.url}/api/generate`, { model: id })).json()) as object).toMatchObject({ done: true, done_reason: "load" })
    now += 1000
    await (await post(`${o.url}/api/chat`, { model: "a", messages: [{ role: "user", content: "hi" }], stream: false })).json()
    await post(`${o.url}/api/generate`, { model: "c", keep_alive: "10s" })
    // b was the least recently used.
    expect((await ps(o.url)).map((m) => m.name).sort()).toEqual(["a", "c"])
    expect(o.fleet!.evictions).toEqual(["b"])
    const c = (await ps(o.url)).find((m) => m.name === "c")!
    expect([c.size, c.size_vram, Date.parse(c.expires_at)]).toEqual([GIB, GIB, now + 10_000])
    now += 11_000
    expect((await ps(o.url)).map((m) => m.name)).toEqual(["a"])
    const off = (await (await post(`${o.url}/api/generate`, { model: "a", keep_alive: 0 })).json()) as { done_reason: string }
    expect(off.done_reason).toBe("unload")
    expect(await ps(o.url)).toEqual([])
  })

  test("memory budget: a model that does not fit evicts idle ones; concurrent requests share one load", async () => {
    const o = await scope.emulator(
      startOllama({ models: [{ id: "big", sizeBytes: 6 * GIB }, { id: "other", loaded: false, sizeBytes: 4 * GIB }], fleet: { memoryBytes: 8 * GIB, loadMsPerGb: 50 } })
    )
    const chats = await Promise.all(Array.from({ length: 4 }, () => post(`${o.url}/v1/chat/completions`, { model: "other", messages: [{ role: "user", content: "hi" }] })))
    expect(chats.map((r) => r.status)).toEqual([200, 200, 200, 200])
    expect(o.fleet!.loads).toEqual({ other: 1 })
    expect((await ps(o.url)).map((m) => m.name)).toEqual(["other"])
  })

  test("a request without keep_alive keeps the keep-alive the model was loaded with, counted from its end", async () => {
    let now = 5_000_000
    const o = await scope.emulator(startOllama({ models: [{ id: "m", loaded: false, sizeBytes: GIB }], fleet: { keepAliveMs: 5 * 60_000, now: () => now } }))
    await post(`${o.url}/api/generate`, { model: "m", keep_alive: "1h" })
    now += 10 * 60_000
    await (await post(`${o.url}/v1/chat/completions`, { model: "m", messages: [{ role: "user", content: "hi" }], stream: true })).text()
    expect((await ps(o.url)).map((m) => Date.parse(m.expires_at))).toEqual([now + 3_600_000])
    now += 30 * 60_000
    await post(`${o.url}/api/chat`, { model: "m", messages: [{ role: "user", content: "hi" }], stream: false, keep_alive: "2m" })
    expect((await ps(o.url)).map((m) => Date.parse(m.expires_at))).toEqual([now + 120_000])
    now += 121_000
    expect(await ps(o.url)).toEqual([])
  })

  test("an embedding request loads its model; loads a request waited for are told from loads asked for", async () => {
    const slept: number[] = []
    const models = [{ id: "bge-m3", loaded: false, sizeBytes: GIB }, { id: "c", loaded: false, sizeBytes: 2 * GIB }]
    // A load's time passes on the clock the emulator is given.
    const o = await scope.emulator(startOllama({ models, fleet: { loadMsPerGb: 1000, sleep: async (ms) => void slept.push(ms) } }))
    await post(`${o.url}/api/generate`, { model: "c" })
    expect([o.fleet!.loads, o.fleet!.coldLoads, o.fleet!.waitedRequests, slept]).toEqual([{ c: 1 }, {}, 0, [2000]])
    expect((await post(`${o.url}/v1/embeddings`, { model: "bge-m3", input: "some text" })).status).toBe(200)
    await (await post(`${o.url}/v1/chat/completions`, { model: "c", messages: [{ role: "user", content: "hi" }] })).text()
    expect([o.fleet!.loads, o.fleet!.coldLoads, o.fleet!.waitedRequests, slept]).toEqual([{ c: 1, "bge-m3": 1 }, { "bge-m3": 1 }, 1, [2000, 1000]])
    expect((await ps(o.url)).map((m) => m.name).sort()).toEqual(["bge-m3", "c"])
  })
})

describe("LM Studio and llama.cpp router mode", () => {
  test("LM Studio: /api/v1/models/load answers once loaded, /unload takes the instance id", async () => {
    const lm = await scope.emulator(startLmstudio({ models: [{ id: "q/q3", loaded: false, sizeBytes: GIB }], fleet: { loadMsPerGb: 50 } }))
    const res = (await (await post(`${lm.url}/api/v1/models/load`, { model: "q/q3" })).json()) as { model_instance_id: string; load_time_seconds: number }
    expect(res.model_instance_id).toBe("q/q3")
    expect(res.load_time_seconds).toBeGreaterThan(0)
    const v1 = (await (await fetch(`${lm.url}/api/v1/models`)).json()) as { models: { key: string; loaded_instances: unknown[]; size_bytes: number }[] }
    expect(v1.models[0]).toMatchObject({ key: "q/q3", size_bytes: GIB })
    expect(v1.models[0]!.loaded_instances).toHaveLength(1)
    expect(await (await post(`${lm.url}/api/v1/models/unload`, { instance_id: "q/q3" })).json()).toEqual({ instance_id: "q/q3" })
    expect((await post(`${lm.url}/api/v1/models/unload`, { instance_id: "q/q3" })).status).toBe(404)
  })

  test("llama.cpp router: /models shows loading then loaded; load and unload answer {success:true} or the router's errors", async () => {
    const l = await scope.emulator(startLlamacpp({ router: true, models: [{ id: "g", loaded: false, sizeBytes: GIB }], fleet: { loadMsPerGb: 200 } }))
    const status = async () => ((await (await fetch(`${l.url}/models`)).json()) as { data: { id: string; status: { value: string } }[] }).data[0]!.status.value
    expect(await status()).toBe("unloaded")
    expect(await (await post(`${l.url}/models/load`, { model: "g" })).json()).toEqual({ success: true })
    expect(await status()).toBe("loading")
    expect((await post(`${l.url}/models/load`, { model: "g" })).status).toBe(400)
    await until(status, (s) => s !== "loading", { what: "the load finished" })
    expect(await status()).toBe("loaded")
    expect((await post(`${l.url}/models/load`, { model: "nope" })).status).toBe(404)
    expect(await (await post(`${l.url}/models/unload`, { model: "g" })).json()).toEqual({ success: true })
    expect(((await (await post(`${l.url}/models/unload`, { model: "g" })).json()) as { error: { message: string } }).error.message).toBe("model is not running")
  })
})
