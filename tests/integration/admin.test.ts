/**
 * The admin API and runtime state: auth, backends added by URL (fingerprinted) that
 * survive a restart, removal, drain, and configuration reloads.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseConfigText } from "../../src/config/load.ts"
import { startLlamacpp, startOllama, startVllm } from "../../emulators/index.ts"
import { backend, chat, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { spawnNexus } from "../helpers/process.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually, until } from "../helpers/wait.ts"

const { emulator: emu, nexus, defer } = testScope()
const post = (n: TestNexus, path: string, body: unknown = {}, token?: string) =>
  fetch(`${n.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  })

describe("auth", () => {
  test("with a token: state changes need it (401 in the OpenAI envelope otherwise); reads stay open", async () => {
    const n = await nexus({ server: { admin_token: "s3cret-token-123" } })
    const none = await post(n, "/v1/backends", { url: "http://127.0.0.1:9" })
    expect(none.status).toBe(401)
    expect(((await none.json()) as any).error.type).toBe("authentication_error")
    expect((await post(n, "/v1/backends/x/drain", {}, "wrong-token")).status).toBe(401)
    expect((await fetch(`${n.url}/v1/backends/x`, { method: "DELETE" })).status).toBe(401)
    expect((await post(n, "/v1/admin/reload", {}, "s3cret-token-123")).status).toBe(200)
    expect((await n.get("/v1/backends")).status).toBe(200)
  })

  test("without a token only loopback clients may change state", async () => {
    const n = await nexus({})
    expect((await post(n, "/v1/admin/reload")).status).toBe(200) // we are on 127.0.0.1
    expect(n.deps.clientIP(new Request("http://x/"))).toBeUndefined() // unknown address is never loopback
  })
})

describe("backends at run time", () => {
  test("add by URL with the type fingerprinted, routable at once, persisted across a restart, then removed", async () => {
    const llama = await emu(startLlamacpp({ models: ["tiny"] }))
    const dataDir = mkdtempSync(join(tmpdir(), "nexus-data-"))
    const first = await startNexus({}, { dataDir })
    const added = await post(first, "/v1/backends", { url: llama.url, name: "gpu-box" })
    expect(added.status).toBe(201)
    const view = (await added.json()) as any
    expect(view).toMatchObject({ id: "gpu-box", type: "llamacpp", source: "admin", status: "healthy" })
    expect((await first.post("/v1/chat/completions", chat("tiny"))).status).toBe(200)
    await first.stop(0)

    const second = await nexus({}, { dataDir })
    await eventually(() => second.deps.registry.get("gpu-box")?.status === "healthy")
    expect((await second.post("/v1/chat/completions", chat("tiny"))).headers.get("x-nexus-backend")).toBe("gpu-box")
    const removed = await fetch(`${second.url}/v1/backends/gpu-box`, { method: "DELETE" })
    expect(removed.status).toBe(200)
    expect((await second.post("/v1/chat/completions", chat("tiny"))).status).toBe(404)
    await second.stop(0)
    const third = await nexus({}, { dataDir })
    expect(third.deps.registry.get("gpu-box")).toBeUndefined()
  })

  test("clear errors: bad URL, nothing recognised, duplicate, unknown id", async () => {
    const n = await nexus({})
    const bad = await post(n, "/v1/backends", { url: "ftp://x" })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as any).error.message).toContain("expected an http:// or https:// URL")
    const nothing = await post(n, "/v1/backends", { url: "http://127.0.0.1:9" })
    expect(nothing.status).toBe(422)
    const missing = await post(n, "/v1/backends", {})
    expect(((await missing.json()) as any).error.param).toBe("url")
    const vllm = await emu(startVllm({ models: ["m"] }))
    expect((await post(n, "/v1/backends", { url: vllm.url })).status).toBe(201)
    expect((await post(n, "/v1/backends", { url: `${vllm.url}/` })).status).toBe(409)
    expect((await post(n, "/v1/backends/nope/drain")).status).toBe(404)
    const list = (await (await n.get("/v1/backends")).json()) as any
    expect(list.backends[0]).toMatchObject({ type: "vllm", name: `vllm-127.0.0.1-${vllm.port}` })
  })

  test("a draining backend finishes what it has and takes nothing new; undrain brings it back", async () => {
    const a = await emu(startVllm({ models: ["m"], chunks: 5, chunkDelayMs: 60 }))
    const b = await emu(startVllm({ models: ["m"] }))
    const n = await nexus({ backends: [backend("a", a.url, "vllm", { priority: 1 }), backend("b", b.url, "vllm", { priority: 90 })] })
    const streaming = await n.post("/v1/chat/completions", chat("m", { stream: true }))
    expect(streaming.headers.get("x-nexus-backend")).toBe("a")
    expect((await post(n, "/v1/backends/a/drain")).status).toBe(200)
    const next = await n.post("/v1/chat/completions", chat("m"))
    expect(next.headers.get("x-nexus-backend")).toBe("b")
    expect((await streaming.text()).trimEnd().endsWith("data: [DONE]")).toBe(true)
    expect((await post(n, "/v1/backends/a/undrain")).status).toBe(200)
    await eventually(() => n.deps.registry.get("a")!.status === "healthy")
    expect((await n.post("/v1/chat/completions", chat("m"))).headers.get("x-nexus-backend")).toBe("a")
  })
})

describe("reload", () => {
  test("POST /v1/admin/reload applies the difference; an invalid file leaves everything as it was", async () => {
    const a = await emu(startVllm({ models: ["m"] }))
    const o = await emu(startOllama({ models: ["q"] }))
    const dir = mkdtempSync(join(tmpdir(), "nexus-reload-"))
    const file = join(dir, "nexus.toml")
    const write = (text: string) => writeFileSync(file, text)
    write(`[[backends]]\nname = "a"\nurl = "${a.url}"\ntype = "vllm"\n`)
    const load = async () => parseConfigText(await Bun.file(file).text(), file)
    const initial = await load()
    const n = await nexus({ backends: initial.backends }, { loadConfig: load })

    write(`[routing.aliases]\nchat = "q"\n[[backends]]\nname = "o"\nurl = "${o.url}"\ntype = "ollama"\n`)
    const res = await post(n, "/v1/admin/reload")
    const body = (await res.json()) as any
    expect(body.changes).toContain(`backend o added (ollama at ${o.url})`)
    expect(body.changes).toContain("backend a removed")
    await eventually(() => n.deps.registry.get("o")?.status === "healthy")
    expect((await n.post("/v1/chat/completions", chat("chat"))).headers.get("x-nexus-model")).toBe("q")

    write(`[server]\nport = "nope"\n`)
    const refused = await post(n, "/v1/admin/reload")
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as any).error.message).toContain("server.port")
    expect((await n.post("/v1/chat/completions", chat("chat"))).status).toBe(200)
  })

  test("SIGHUP reloads a running nexus serve without dropping a stream in flight", async () => {
    const a = await emu(startVllm({ models: ["m"], chunks: 6, chunkDelayMs: 80 }))
    const b = await emu(startVllm({ models: ["other"] }))
    const proc = await spawnNexus(`[[backends]]\nname = "a"\nurl = "${a.url}"\ntype = "vllm"`)
    defer(() => proc.stop())
    const stream = await fetch(`${proc.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify(chat("m", { stream: true })) })
    const path = await until(() => proc.output().match(/"config":"([^"]+)"/)?.[1], Boolean, { what: "the config path in the start-up line" })
    writeFileSync(path!, `[[backends]]\nname = "a"\nurl = "${a.url}"\ntype = "vllm"\npriority = 3\n[[backends]]\nname = "b"\nurl = "${b.url}"\ntype = "vllm"\n`)
    proc.proc.kill("SIGHUP")
    const text = await stream.text()
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true)
    expect(text).not.toContain('"error"')
    await eventually(() => proc.output().includes("configuration reloaded"), 5000)
    expect(proc.output()).toContain("backend b added")
    await until(() => fetch(`${proc.url}/v1/models/other`).then((r) => r.status), (status) => status === 200, { timeoutMs: 5000, what: "model of the added backend" })
  })
})
