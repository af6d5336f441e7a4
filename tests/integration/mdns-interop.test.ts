/**
 * Interop with an mDNS stack that is not ours: Debian's python3-zeroconf, both ways.
 * Four network namespaces on one bridge (none touches this machine's interfaces):
 * `zbox` publishes emulated servers with python-zeroconf, `pi` (hostname raspberrypi)
 * runs `nexus advertise`, `gw` runs `nexus serve`, and `clone` both browses with
 * python-zeroconf and, last, publishes a server under the host name raspberrypi.local
 * the way a stack that never probes host names would. Skipped without namespaces or
 * python3-zeroconf.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { VERSION } from "../../src/version.ts"
import { follow, type LineFollower } from "../helpers/lines.ts"
import { asHost, createLan, netnsAvailable, type Lan, type LanHost } from "../helpers/netns.ts"
import { until as waitUntil } from "../helpers/wait.ts"
import { lacking } from "../helpers/skip.ts"

const ROOT = new URL("../..", import.meta.url).pathname
const BUN = process.execPath
const PYTHON = "/usr/bin/python3" // Debian's, where python3-zeroconf installs
const ZEROCONF = join(ROOT, "tests/helpers/zeroconf-peer.py")

interface BackendView {
  id: string
  status: string
  url: string
  models: { id: string }[]
}
interface Resolved {
  event: string
  name: string
  server: string
  port: number
  addresses: string[]
  txt: Record<string, string>
}

const zeroconfAvailable = Bun.spawnSync([PYTHON, "-c", "import zeroconf"], { stderr: "ignore" }).exitCode === 0
const available = !lacking("network namespaces are not available", netnsAvailable()) && !lacking("python-zeroconf is not installed", zeroconfAvailable)
let lan: Lan
let zbox: LanHost, pi: LanHost, gw: LanHost, clone: LanHost
let advertiserLog: LineFollower
let browser: LineFollower
const dir = mkdtempSync(join(tmpdir(), "nexus-mdns-interop-"))
setDefaultTimeout(40_000)

/** Poll over the namespaces' curl: every 100 ms is plenty. */
const until = <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> =>
  waitUntil(get, ok, { timeoutMs, what, everyMs: 100 })

/** An emulator whose chat count the test can read inside its namespace. */
async function emulator(ns: LanHost, kind: string, port: number, model: string, statsPort: number): Promise<void> {
  ns.spawn([BUN, join(ROOT, "tests/helpers/counted-emulator.ts"), kind, String(port), model, String(statsPort)])
  await until(`${kind} emulator up`, () => ns.http(`http://127.0.0.1:${statsPort}/`), (r) => r.status === 200)
}
const chats = async (ns: LanHost, statsPort: number) =>
  (JSON.parse((await ns.http(`http://127.0.0.1:${statsPort}/`)).body).byPath["/v1/chat/completions"] ?? 0) as number

async function zeroconfPublish(ns: LanHost, ...args: string[]): Promise<void> {
  const out = follow(ns.spawn([PYTHON, ZEROCONF, "publish", ...args]).stdout)
  await out.next((l) => l.includes('"registered"'), 10_000)
}

async function backends(): Promise<BackendView[]> {
  const r = await gw.http("http://127.0.0.1:8000/v1/backends")
  return r.status === 200 ? (JSON.parse(r.body) as { backends: BackendView[] }).backends : []
}
const backendAt = (url: string) => until(`backend at ${url}`, backends, (l) => l.some((b) => b.url === url && b.status === "healthy")).then((l) => l.find((b) => b.url === url)!)

/** A chat for `model` through the gateway: the backend that served it. */
async function chatVia(model: string): Promise<string> {
  const r = await gw.http("http://127.0.0.1:8000/v1/chat/completions", { model, messages: [{ role: "user", content: "hi" }] })
  expect(r.status).toBe(200)
  return r.headers["x-nexus-backend"]!
}

/** The last thing python-zeroconf resolved for an instance name. */
const resolvedAs = (name: string) => async () => {
  const lines = browser.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Resolved)
  return lines.filter((r) => r.event === "up" && r.name === name).at(-1)
}

beforeAll(async () => {
  if (!available) return
  lan = createLan(4)
  ;[zbox, pi, gw, clone] = lan.hosts as [LanHost, LanHost, LanHost, LanHost]
  await emulator(zbox, "ollama", 11434, "mistral:7b", 9999)
  await emulator(zbox, "vllm", 8000, "Qwen/Qwen2.5-0.5B-Instruct", 9998)
  await emulator(pi, "ollama", 11434, "llama3.2:latest", 9999)
  const config = join(dir, "gateway.toml")
  writeFileSync(
    config,
    `[server]\nhost = "0.0.0.0"\nport = 8000\n[discovery]\nprobe_ports = []\nprobe_interval_seconds = 5\n` +
      `[health_check]\ninterval_seconds = 1\ntimeout_seconds = 1\nfailure_threshold = 1\n[logging]\nformat = "json"\n`
  )
  const serve = gw.spawn(asHost("gateway", [BUN, join(ROOT, "src/main.ts"), "serve", "--config", config]), { NEXUS_DATA_DIR: join(dir, "gw-state") })
  // Drained, so a full pipe never blocks the gateway.
  follow(serve.stdout)
  follow(serve.stderr)
  const advertise = asHost("raspberrypi", [BUN, join(ROOT, "src/main.ts"), "advertise", "--interval", "1", "--ports", "11434", "--log-format", "json"])
  advertiserLog = follow(pi.spawn(advertise, { NEXUS_DATA_DIR: join(dir, "pi-state") }).stderr)
  browser = follow(clone.spawn([PYTHON, ZEROCONF, "browse", "_llm._tcp.local.", "_nexus._tcp.local.", "_ollama._tcp.local."]).stdout)
  await browser.next((l) => l.includes('"browsing"'), 10_000)
  await until("gateway up", () => gw.http("http://127.0.0.1:8000/health"), (r) => r.status === 200)
})

afterAll(() => lan?.destroy())

describe.skipIf(!available)("python-zeroconf publishes, nexus serve discovers and routes", () => {
  test("an _ollama._tcp service (no TXT: the service type says what it is)", async () => {
    await zeroconfPublish(zbox, "_ollama._tcp.local.", "Ollama on zbox", "11434", "zbox.local.")
    const b = await backendAt(`http://${zbox.addr}:11434`)
    expect(b).toMatchObject({ id: "ollama-zbox-11434", models: [{ id: "mistral:7b" }] })
    const before = await chats(zbox, 9999)
    expect(await chatVia("mistral:7b")).toBe("ollama-zbox-11434")
    expect(await chats(zbox, 9999)).toBe(before + 1)
  })

  test("an _llm._tcp service whose TXT says type=vllm and api_path=/v1", async () => {
    await zeroconfPublish(zbox, "_llm._tcp.local.", "vLLM on zbox", "8000", "zbox.local.", "type=vllm", "api_path=/v1", "models=Qwen/Qwen2.5-0.5B-Instruct")
    const b = await backendAt(`http://${zbox.addr}:8000`)
    expect(b).toMatchObject({ id: "vllm-zbox-8000", models: [{ id: "Qwen/Qwen2.5-0.5B-Instruct" }] })
    const before = await chats(zbox, 9998)
    expect(await chatVia("Qwen/Qwen2.5-0.5B-Instruct")).toBe("vllm-zbox-8000")
    expect(await chats(zbox, 9998)).toBe(before + 1)
  })
})

describe.skipIf(!available)("python-zeroconf sees what Nexus publishes", () => {
  test("nexus advertise: _llm._tcp with its TXT fields, and a host name that resolves to its box only", async () => {
    const r = await until("resolved", resolvedAs("ollama on raspberrypi:11434._llm._tcp.local."), (v) => v !== undefined)
    expect(r).toMatchObject({ server: "raspberrypi.local.", port: 11434, addresses: [pi.addr] })
    expect(r!.txt).toMatchObject({ type: "ollama", api_path: "/v1", models: "llama3.2:latest" })
  })

  test("nexus serve: _nexus._tcp with its version and API path", async () => {
    const r = await until("resolved", resolvedAs("Nexus on gateway._nexus._tcp.local."), (v) => v !== undefined)
    expect(r).toMatchObject({ server: "gateway.local.", port: 8000, addresses: [gw.addr], txt: { version: VERSION, api_path: "/v1" } })
  })
})

describe.skipIf(!available)("another stack takes our host name without probing for it", () => {
  test("the advertiser moves to raspberrypi-2.local; the gateway routes each model to the box that answered", async () => {
    await until("pi discovered", backends, (l) => l.some((b) => b.url === `http://${pi.addr}:11434` && b.status === "healthy"))
    await emulator(clone, "ollama", 11434, "phi3:mini", 9999)
    // python-zeroconf probes service names but not host names: it simply claims raspberrypi.local.
    await zeroconfPublish(clone, "_ollama._tcp.local.", "Ollama on the other pi", "11434", "raspberrypi.local.")
    await advertiserLog.next((l) => l.includes(`mDNS host name \\"raspberrypi.local\\" is also answered by ${clone.addr}`), 10_000)
    await advertiserLog.next((l) => l.includes('advertising ollama on port 11434 as \\"ollama on raspberrypi-2:11434\\" on raspberrypi-2.local'), 10_000)

    // python-zeroconf now resolves our box under its new name, to its address alone.
    const r = await until("renamed", resolvedAs("ollama on raspberrypi-2:11434._llm._tcp.local."), (v) => v !== undefined)
    expect(r).toMatchObject({ server: "raspberrypi-2.local.", addresses: [pi.addr] })

    // Each box under its own id (the clone's carries its address: raspberrypi was taken), and each model where it lives.
    const ours = await backendAt(`http://${pi.addr}:11434`)
    const other = await backendAt(`http://${clone.addr}:11434`)
    expect(other.id).toBe(`ollama-raspberrypi-${clone.addr}-11434`)
    expect(other.models.map((m) => m.id)).toEqual(["phi3:mini"])
    const before = [await chats(pi, 9999), await chats(clone, 9999)]
    expect(await chatVia("phi3:mini")).toBe(other.id)
    expect(await chatVia("llama3.2:latest")).toBe(ours.id)
    expect([await chats(pi, 9999), await chats(clone, 9999)]).toEqual([before[0]! + 1, before[1]! + 1])
  })
})
