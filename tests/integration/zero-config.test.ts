/**
 * Zero configuration: `nexus serve` with no file finds the servers listening on the
 * well-known localhost ports, and finds one started later without a restart. Each test
 * runs in its own network namespace, so ports 11434, 8080, ... are ours and nothing on
 * this machine is probed. What the gateway did NOT do is shown by what the emulators saw
 * by the time a later event that must follow it has happened.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { follow, type LineFollower } from "../helpers/lines.ts"
import { createNamespace, netnsAvailable, NS_POLL, type Namespace } from "../helpers/netns.ts"
import { emulatorCommand, MAIN } from "../helpers/process.ts"
import { until } from "../helpers/wait.ts"
import { lacking } from "../helpers/skip.ts"

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

/** Start an emulator in the namespace and wait until it listens; follow the requests it receives. */
async function emulator(kind: string, port: number, models: string): Promise<LineFollower> {
  const log = follow(ns!.spawn(emulatorCommand(kind, { port, models, logRequests: true })).stdout)
  await log.next((l) => l.includes("emulator listening on"), 10_000)
  return log
}
/** Fingerprinting asks `/node_id` (exo's route) of every port it probes; health checks never do. */
const isProbe = (line: string) => line === "GET /node_id"
const probes = (log: LineFollower) => log.lines.filter(isProbe).length

function serve(args: string[], cwd: string) {
  // Each test's gateway keeps its state beside its config: an adopted backend must not
  // reappear in the next test.
  return ns!.spawn(["sh", "-c", `cd ${cwd} && exec ${process.execPath} ${MAIN} serve --log-format json ${args.join(" ")}`], {
    NEXUS_DATA_DIR: join(cwd, "state"),
  })
}
async function backends(port = 8000): Promise<BackendView[]> {
  const r = await ns!.http(`http://127.0.0.1:${port}/v1/backends`)
  return r.status === 200 ? (JSON.parse(r.body) as { backends: BackendView[] }).backends : []
}
function dirWith(toml?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "nexus-zero-"))
  if (toml !== undefined) writeFileSync(join(dir, "nexus.toml"), toml)
  return dir
}

describe.skipIf(lacking("network namespaces are not available (needs root and ip netns)", netnsAvailable()))("zero-config discovery by probing", () => {
  test("no config file at all: an Ollama on 11434 is found, named stably, and routable", async () => {
    ns = createNamespace()
    await emulator("ollama", 11434, "llama3.2:latest")
    serve([], dirWith()) // port 8000: also a probe port, never probed by ourselves
    const list = await until(backends, (l) => l.some((b) => b.status === "healthy"), NS_POLL)
    expect(list).toEqual([expect.objectContaining({ id: "ollama-localhost-11434", type: "ollama", source: "probe", url: "http://127.0.0.1:11434" })])
    const r = await ns.http("http://127.0.0.1:8000/v1/chat/completions", { model: "llama3.2:latest", messages: [{ role: "user", content: "hi" }] })
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body).choices[0].message.content).toContain("emulated model")
  })

  test("a server started later is found without a restart; a configured one wins over its discovered twin", async () => {
    ns = createNamespace()
    const ollama = await emulator("ollama", 11434, "llama3.2:latest")
    serve([], dirWith(
      `[server]\nport = 9000\n[discovery]\nprobe_interval_seconds = 0.25\n[health_check]\ninterval_seconds = 1\n` +
        `[[backends]]\nname = "desk-ollama"\nurl = "http://localhost:11434"\ntype = "ollama"\n`
    ))
    await until(() => backends(9000), (l) => l.some((b) => b.id === "desk-ollama" && b.status === "healthy"), NS_POLL)
    // Two probe rounds have knocked on 11434; the second starts only after the first reported what it found.
    await ollama.count(isProbe, 2)
    expect((await backends(9000)).map((b) => b.id)).toEqual(["desk-ollama"])

    await emulator("llamacpp", 8080, "gemma-3-4b")
    const later = await until(() => backends(9000), (l) => l.some((b) => b.type === "llamacpp" && b.status === "healthy"), NS_POLL)
    expect(later.find((b) => b.type === "llamacpp")).toMatchObject({ id: "llamacpp-localhost-8080", source: "probe" })
    const models = await ns.http("http://127.0.0.1:9000/v1/models")
    expect(JSON.parse(models.body).data.map((m: { id: string }) => m.id).sort()).toEqual(["gemma-3-4b", "llama3.2:latest"])
  })

  test("a discovered backend can be adopted by name through the admin API, and kept", async () => {
    ns = createNamespace()
    const ollama = await emulator("ollama", 11434, "llama3.2:latest")
    serve([], dirWith(`[discovery]\nprobe_interval_seconds = 0.25\n`))
    await until(backends, (l) => l.some((b) => b.id === "ollama-localhost-11434" && b.status === "healthy"), NS_POLL)
    const r = await ns.http("http://127.0.0.1:8000/v1/backends", { url: "http://localhost:11434", name: "desk" })
    expect(r.status).toBe(201)
    expect(JSON.parse(r.body)).toMatchObject({ id: "desk", source: "admin", type: "ollama" })
    // Probing goes on and finds the same server again: it must not come back as a discovered twin.
    await ollama.count(isProbe, probes(ollama) + 2)
    expect((await backends()).map((b) => `${b.id}:${b.source}`)).toEqual(["desk:admin"])
  })

  test("a reload that turns discovery off stops probing and forgets what it found", async () => {
    ns = createNamespace()
    const ollama = await emulator("ollama", 11434, "llama3.2:latest")
    // A configured backend whose health checks keep time once probing has stopped.
    const marker = await emulator("vllm", 11999, "marker")
    const markerToml = `[health_check]\ninterval_seconds = 1\n[[backends]]\nname = "marker"\nurl = "http://127.0.0.1:11999"\ntype = "vllm"\n`
    const dir = dirWith(`[discovery]\nprobe_interval_seconds = 0.25\n${markerToml}`)
    serve([], dir)
    await until(backends, (l) => l.some((b) => b.source === "probe"), NS_POLL)
    writeFileSync(join(dir, "nexus.toml"), `[discovery]\nenabled = false\n${markerToml}`)
    const r = await ns.http("http://127.0.0.1:8000/v1/admin/reload", {})
    expect(r.status).toBe(200)
    expect(r.body).toContain("discovery turned off")
    expect((await backends()).map((b) => b.id)).toEqual(["marker"])
    // Two more health rounds (1 s apart) span four probe intervals: no probe came, nothing came back.
    const knocks = probes(ollama)
    const isCheck = (l: string) => l === "GET /health"
    await marker.count(isCheck, marker.lines.filter(isCheck).length + 2)
    expect(probes(ollama)).toBe(knocks)
    expect((await backends()).map((b) => b.id)).toEqual(["marker"])
  })

  test("--no-discovery probes nothing", async () => {
    ns = createNamespace()
    const ollama = await emulator("ollama", 11434, "llama3.2:latest")
    serve(["--no-discovery"], dirWith())
    await until(() => ns!.http("http://127.0.0.1:8000/health"), (r) => r.status === 200, NS_POLL)
    // A gateway that does probe, started after it, finds 11434: had the first one probed
    // when it started, 11434 would have been asked twice by now.
    serve(["--port", "9000"], dirWith())
    await until(() => backends(9000), (l) => l.some((b) => b.source === "probe"), NS_POLL)
    expect(probes(ollama)).toBe(1)
    expect(await backends()).toEqual([])
  })
})
