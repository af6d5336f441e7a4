/**
 * Two GPU boxes that share a hostname, on one LAN with a gateway: three network
 * namespaces on a bridge that lives in a namespace of its own (no packet reaches this
 * machine's interfaces). Both boxes are called `raspberrypi` (each its own UTS namespace),
 * run an emulated Ollama on 11434 with different models and `nexus advertise`; the third
 * runs the gateway `nexus serve` starts, on a clock the tests jump
 * (tests/helpers/jump-gateway.ts). Skipped where namespaces cannot be made.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { follow, type LineFollower } from "../helpers/lines.ts"
import { asHost, createLan, netnsAvailable, type Lan, type LanHost } from "../helpers/netns.ts"
import { until as waitUntil } from "../helpers/wait.ts"
import { lacking } from "../helpers/skip.ts"

const ROOT = new URL("../..", import.meta.url).pathname
const BUN = process.execPath
const HOST = "raspberrypi"

interface BackendView {
  id: string
  status: string
  url: string
  models: { id: string }[]
}

interface Box {
  ns: LanHost
  model: string
  /** Its own state directory, as on a separate machine (the claimed host name lives there). */
  dataDir: string
  advertiser?: { proc: ReturnType<LanHost["spawn"]>; log: LineFollower }
}

let lan: Lan
let boxes: Box[]
let gateway: LanHost
let gatewayProc: ReturnType<LanHost["spawn"]>
let gatewayLog: LineFollower
/** The gateway's stdout, where it says it has jumped its clock. */
let gatewayOut: LineFollower
let jumps = 0
const dir = mkdtempSync(join(tmpdir(), "nexus-mdns-lan-"))
const available = !lacking("network namespaces are not available (needs root and ip netns)", netnsAvailable())
setDefaultTimeout(40_000)

/** Poll over the namespaces' curl: every 100 ms is plenty. */
const until = <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> =>
  waitUntil(get, ok, { timeoutMs, what, everyMs: 100 })

function advertise(box: Box): NonNullable<Box["advertiser"]> {
  const cmd = asHost(HOST, [BUN, join(ROOT, "src/main.ts"), "advertise", "--interval", "1", "--ports", "11434", "--log-format", "json"])
  const proc = box.ns.spawn(cmd, { NEXUS_DATA_DIR: box.dataDir })
  box.advertiser = { proc, log: follow(proc.stderr) }
  return box.advertiser
}

async function stopAdvertiser(box: Box): Promise<void> {
  if (!box.advertiser) return
  box.advertiser.proc.kill("SIGTERM")
  expect(await box.advertiser.proc.exited).toBe(0)
  box.advertiser = undefined
}

const ADVERTISING = "advertising ollama on port 11434 as"
const hostIn = (line: string) => /on ([\w-]+)\.local/.exec(JSON.parse(line).msg)![1]!

/** The `.local` name a box's advertiser says it ended up with. */
async function claimedHost(box: Box): Promise<string> {
  return hostIn(await box.advertiser!.log.next((l) => l.includes(ADVERTISING), 10_000))
}

/** The name a box's advertiser says it is advertising under now (its latest such line). */
function latestHost(box: Box): string | undefined {
  const line = box.advertiser?.log.lines.findLast((l) => l.includes(ADVERTISING))
  return line && hostIn(line)
}

function startGateway(): void {
  const config = join(dir, "gateway.toml")
  writeFileSync(
    config,
    `[server]\nhost = "0.0.0.0"\nport = 8000\n[discovery]\nprobe_ports = []\nprobe_interval_seconds = 5\n` +
      `[health_check]\ninterval_seconds = 1\ntimeout_seconds = 1\nfailure_threshold = 1\n[logging]\nformat = "json"\n`
  )
  // The gateway `nexus serve` starts, on a clock the tests jump (tests/helpers/jump-gateway.ts).
  gatewayProc = gateway.spawn([BUN, join(ROOT, "tests/helpers/jump-gateway.ts"), config], { NEXUS_DATA_DIR: join(dir, "gateway-state") })
  // Logs go to stderr; both pipes are drained so a full one never blocks the gateway.
  gatewayLog = follow(gatewayProc.stderr)
  gatewayOut = follow(gatewayProc.stdout)
  jumps = 0
}

/** Move the gateway's clock `seconds` forward; resolves once the timers that made due have run. */
async function jumpGateway(seconds: number): Promise<void> {
  gatewayProc.stdin.write(`jump ${seconds * 1000}\n`)
  await gatewayProc.stdin.flush()
  await gatewayOut.count((l) => l.startsWith("jumped "), ++jumps)
}

async function backends(): Promise<BackendView[]> {
  const r = await gateway.http("http://127.0.0.1:8000/v1/backends")
  return r.status === 200 ? (JSON.parse(r.body) as { backends: BackendView[] }).backends : []
}

const chatCount = async (box: Box) => (JSON.parse((await box.ns.http("http://127.0.0.1:9999/")).body).byPath["/v1/chat/completions"] ?? 0) as number

/** Both boxes discovered, healthy, each under the id its host name gives, at its own address. */
async function bothDiscovered(hosts: Map<Box, string>): Promise<void> {
  const want = boxes.map((b) => ({ id: `ollama-${hosts.get(b)}-11434`, url: `http://${b.ns.addr}:11434`, model: b.model }))
  const ok = (list: BackendView[]) =>
    want.every((w) => list.some((x) => x.id === w.id && x.url === w.url && x.status === "healthy" && x.models.some((m) => m.id === w.model)))
  await until("both boxes discovered", backends, ok, 15_000)
}

beforeAll(async () => {
  if (!available) return
  lan = createLan(3)
  const [a, b, g] = lan.hosts as [LanHost, LanHost, LanHost]
  gateway = g
  boxes = [
    { ns: a, model: "llama3.2:latest", dataDir: join(dir, "box-a") },
    { ns: b, model: "qwen2.5:7b", dataDir: join(dir, "box-b") },
  ]
  for (const box of boxes) {
    box.ns.spawn(asHost(HOST, [BUN, join(ROOT, "tests/helpers/counted-emulator.ts"), "ollama", "11434", box.model, "9999"]))
    await until("emulator up", () => box.ns.http("http://127.0.0.1:9999/"), (r) => r.status === 200)
  }
  startGateway()
  await until("gateway up", () => gateway.http("http://127.0.0.1:8000/health"), (r) => r.status === 200)
})

afterAll(() => lan?.destroy())

describe.skipIf(!available)("two boxes with the same hostname on one LAN", () => {
  const hosts = new Map<Box, string>()

  test("started together, they claim different host names (probe, tie-break, rename) and each says which", async () => {
    for (const box of boxes) advertise(box)
    for (const box of boxes) hosts.set(box, await claimedHost(box))
    expect([...hosts.values()].sort()).toEqual([HOST, `${HOST}-2`])
    const renamed = boxes.find((b) => hosts.get(b) === `${HOST}-2`)!
    await renamed.advertiser!.log.next((l) => l.includes(`mDNS host name \\"${HOST}.local\\" is answered by another machine; this one is \\"${HOST}-2.local\\"`))
  })

  test("the gateway lists both boxes' models and routes each model to its own box", async () => {
    await bothDiscovered(hosts)
    const models = JSON.parse((await gateway.http("http://127.0.0.1:8000/v1/models")).body).data.map((m: { id: string }) => m.id)
    expect(models).toEqual(expect.arrayContaining(boxes.map((b) => b.model)))
    for (const box of boxes) {
      const before = await Promise.all(boxes.map(chatCount))
      const r = await gateway.http("http://127.0.0.1:8000/v1/chat/completions", { model: box.model, messages: [{ role: "user", content: "hi" }] })
      expect(r.status).toBe(200)
      expect(r.headers["x-nexus-backend"]).toBe(`ollama-${hosts.get(box)}-11434`)
      const after = await Promise.all(boxes.map(chatCount))
      // Exactly one more chat request, on this box and not on the other one.
      expect(after.map((n, i) => n - before[i]!)).toEqual(boxes.map((b) => (b === box ? 1 : 0)))
    }
  })

  test("a renamed box keeps its name across restarts, even while the name it lost is free", async () => {
    const [winner, loser] = hosts.get(boxes[0]!) === HOST ? [boxes[0]!, boxes[1]!] : [boxes[1]!, boxes[0]!]
    await Promise.all([winner, loser].map(stopAdvertiser))
    advertise(loser)
    expect(await claimedHost(loser)).toBe(`${HOST}-2`)
    advertise(winner)
    expect(await claimedHost(winner)).toBe(HOST)
    await bothDiscovered(hosts)
  })

  test("a restarted gateway finds both boxes again under the same ids", async () => {
    gatewayProc.kill("SIGTERM")
    expect(await gatewayProc.exited).toBe(0)
    startGateway()
    await bothDiscovered(hosts)
    for (const box of boxes) await gatewayLog.next((l) => l.includes(`discovered ollama at http://${box.ns.addr}:11434 (mdns)`))
  })

  test("boxes that took the same name while apart sort it out when they meet (RFC 6762 §9)", async () => {
    await Promise.all(boxes.map(stopAdvertiser))
    // Fresh state directories: two boxes that never met, so each wants plain raspberrypi.
    boxes.forEach((box, i) => (box.dataDir = join(dir, `apart-${i}`)))
    lan.plug(1, false)
    for (const box of boxes) advertise(box)
    expect(await Promise.all(boxes.map(claimedHost))).toEqual([HOST, HOST])
    lan.plug(1, true)
    // Each hears the other answer for raspberrypi.local (an announcement, or an answer to the
    // gateway's next query, brought forward here by jumping its clock over the re-query
    // interval); both probe again and the tie-break leaves one name each.
    await jumpGateway(5)
    const settled = await until("distinct names", async () => boxes.map(latestHost), (h) => [...h].sort().join() === `${HOST},${HOST}-2`, 20_000)
    const moved = boxes[settled.indexOf(`${HOST}-2`)]!
    await moved.advertiser!.log.next((l) => l.includes(`mDNS host name \\"${HOST}.local\\" is also answered by`))
    // Whatever ids the gateway gave them before, each model still reaches its own box.
    const healthy = (l: BackendView[]) => boxes.every((b) => l.some((x) => x.url === `http://${b.ns.addr}:11434` && x.status === "healthy"))
    await until("both healthy", backends, healthy)
    for (const box of boxes) {
      const before = await chatCount(box)
      const r = await gateway.http("http://127.0.0.1:8000/v1/chat/completions", { model: box.model, messages: [{ role: "user", content: "hi" }] })
      expect(r.status).toBe(200)
      expect(await chatCount(box)).toBe(before + 1)
    }
  })
})
