/**
 * Zero configuration: `nexus serve` with no file finds the servers listening on the
 * well-known localhost ports, and finds one started later without a restart. Each test
 * runs in its own network namespace, so ports 11434, 8080, ... are ours and nothing on
 * this machine is probed.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createNamespace, netnsAvailable, type Namespace } from "../helpers/netns.ts"

const ROOT = new URL("../..", import.meta.url).pathname
const BUN = process.execPath
setDefaultTimeout(30_000)

interface BackendView {
  id: string
  type: string
  status: string
  source: string
  url: string
}

let ns: Namespace | undefined
afterEach(() => {
  ns?.destroy()
  ns = undefined
})

/** Start an emulator in the namespace and wait until it listens. */
async function emulator(kind: string, port: number, models: string) {
  ns!.spawn([BUN, join(ROOT, "emulators/cli.ts"), kind, "--port", String(port), "--host", "127.0.0.1", "--models", models])
  await until(() => ns!.http(`http://127.0.0.1:${port}/`), (r) => r.status > 0)
}
function serve(args: string[], cwd: string) {
  // Each test's gateway keeps its state beside its config: an adopted backend must not
  // reappear in the next test.
  return ns!.spawn(["sh", "-c", `cd ${cwd} && exec ${BUN} ${join(ROOT, "src/main.ts")} serve --log-format json ${args.join(" ")}`], {
    NEXUS_DATA_DIR: join(cwd, "state"),
  })
}
async function backends(port = 8000): Promise<BackendView[]> {
  const r = await ns!.http(`http://127.0.0.1:${port}/v1/backends`)
  return r.status === 200 ? (JSON.parse(r.body) as { backends: BackendView[] }).backends : []
}
async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await get()
    if (ok(v)) return v
    if (Date.now() > deadline) throw new Error(`not reached in ${timeoutMs} ms (last: ${JSON.stringify(v)})`)
    await Bun.sleep(100)
  }
}

describe.skipIf(!netnsAvailable())("zero-config discovery by probing", () => {
  test("no config file at all: an Ollama on 11434 is found, named stably, and routable", async () => {
    ns = createNamespace()
    await emulator("ollama", 11434, "llama3.2:latest")
    const empty = mkdtempSync(join(tmpdir(), "nexus-zero-"))
    serve([], empty) // port 8000: also a probe port, never probed by ourselves
    const list = await until(backends, (l) => l.some((b) => b.status === "healthy"))
    expect(list).toEqual([expect.objectContaining({ id: "ollama-localhost-11434", type: "ollama", source: "probe", url: "http://127.0.0.1:11434" })])
    const r = await ns.http("http://127.0.0.1:8000/v1/chat/completions", { model: "llama3.2:latest", messages: [{ role: "user", content: "hi" }] })
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body).choices[0].message.content).toContain("emulated model")
  })

  test("a server started later is found without a restart; a configured one wins over its discovered twin", async () => {
    ns = createNamespace()
    await emulator("ollama", 11434, "llama3.2:latest")
    const dir = mkdtempSync(join(tmpdir(), "nexus-zero-"))
    writeFileSync(
      join(dir, "nexus.toml"),
      `[server]\nport = 9000\n[discovery]\nprobe_interval_seconds = 1\n[health_check]\ninterval_seconds = 1\n` +
        `[[backends]]\nname = "desk-ollama"\nurl = "http://localhost:11434"\ntype = "ollama"\n`
    )
    serve([], dir)
    await until(() => backends(9000), (l) => l.some((b) => b.id === "desk-ollama" && b.status === "healthy"))
    await Bun.sleep(1500) // a probe round has seen 11434 by now
    expect((await backends(9000)).map((b) => b.id)).toEqual(["desk-ollama"])

    await emulator("llamacpp", 8080, "gemma-3-4b")
    const later = await until(() => backends(9000), (l) => l.some((b) => b.type === "llamacpp" && b.status === "healthy"), 8000)
    expect(later.find((b) => b.type === "llamacpp")).toMatchObject({ id: "llamacpp-localhost-8080", source: "probe" })
    const models = await ns.http("http://127.0.0.1:9000/v1/models")
    expect(JSON.parse(models.body).data.map((m: { id: string }) => m.id).sort()).toEqual(["gemma-3-4b", "llama3.2:latest"])
  })

  test("a discovered backend can be adopted by name through the admin API, and kept", async () => {
    ns = createNamespace()
    await emulator("ollama", 11434, "llama3.2:latest")
    serve([], mkdtempSync(join(tmpdir(), "nexus-zero-")))
    await until(backends, (l) => l.some((b) => b.id === "ollama-localhost-11434" && b.status === "healthy"))
    const r = await ns.http("http://127.0.0.1:8000/v1/backends", { url: "http://localhost:11434", name: "desk" })
    expect(r.status).toBe(201)
    expect(JSON.parse(r.body)).toMatchObject({ id: "desk", source: "admin", type: "ollama" })
    await Bun.sleep(300)
    expect((await backends()).map((b) => `${b.id}:${b.source}`)).toEqual(["desk:admin"])
  })

  test("a reload that turns discovery off stops probing and forgets what it found", async () => {
    ns = createNamespace()
    await emulator("ollama", 11434, "llama3.2:latest")
    const dir = mkdtempSync(join(tmpdir(), "nexus-zero-"))
    writeFileSync(join(dir, "nexus.toml"), `[discovery]\nprobe_interval_seconds = 1\n`)
    serve([], dir)
    await until(backends, (l) => l.some((b) => b.source === "probe"))
    writeFileSync(join(dir, "nexus.toml"), `[discovery]\nenabled = false\n`)
    const r = await ns.http("http://127.0.0.1:8000/v1/admin/reload", {})
    expect(r.status).toBe(200)
    expect(r.body).toContain("discovery turned off")
    expect(await backends()).toEqual([])
    await Bun.sleep(1500) // no probe round brings it back
    expect(await backends()).toEqual([])
  })

  test("--no-discovery probes nothing", async () => {
    ns = createNamespace()
    await emulator("ollama", 11434, "llama3.2:latest")
    const empty = mkdtempSync(join(tmpdir(), "nexus-zero-"))
    serve(["--no-discovery"], empty)
    await until(() => ns!.http("http://127.0.0.1:8000/health"), (r) => r.status === 200)
    await Bun.sleep(1000)
    expect(await backends()).toEqual([])
  })
})
