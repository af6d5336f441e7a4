/**
 * Discovery over real mDNS packets: `nexus advertise` beside an emulated Ollama in one
 * network namespace, `nexus serve` in another, a veth pair between them. Nothing here
 * touches this machine's own interfaces. Skipped where namespaces cannot be made. What
 * did NOT happen is shown once a later event that must follow it has been seen.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { follow, type LineFollower } from "../helpers/lines.ts"
import { createNamespace, createNetPair, netnsAvailable, NS_POLL, type NetPair } from "../helpers/netns.ts"
import { emulatorCommand, MAIN, ROOT } from "../helpers/process.ts"
import { until } from "../helpers/wait.ts"

const BUN = process.execPath
const HOST = hostname()
const BACKEND_ID = `ollama-${HOST.replace(/[^\w.-]/g, "_")}-11434`
const GRACE_SECONDS = 3

interface BackendView {
  id: string
  status: string
  source: string
  url: string
  last_check: string | null
  models: { id: string }[]
}

let net: NetPair
type Proc = ReturnType<NetPair["spawn"]>
let nexus: Proc
let emulator: Proc
let advertiser: Proc | undefined
const dir = mkdtempSync(join(tmpdir(), "nexus-mdns-"))

function startEmulator() {
  return net.spawn(net.a, emulatorCommand("ollama", { port: 11434, host: "0.0.0.0", models: "llama3.2:latest" }))
}
function startAdvertiser(port = 11434) {
  return net.spawn(net.a, [BUN, MAIN, "advertise", "--interval", "1", "--ports", String(port), "--log-format", "json"])
}
/** `nexus serve` in namespace A with a config of its own (another gateway on the network). */
function serveInA(name: string, toml: string) {
  const config = join(dir, `${name}.toml`)
  writeFileSync(config, `[server]\nhost = "0.0.0.0"\n${toml}`)
  return net.spawn(net.a, [BUN, MAIN, "serve", "--config", config])
}
async function backends(): Promise<BackendView[]> {
  const r = await net.http(net.b, "http://127.0.0.1:8000/v1/backends")
  return r.status === 200 ? (JSON.parse(r.body) as { backends: BackendView[] }).backends : []
}
const wait = <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000) => until(get, ok, { ...NS_POLL, timeoutMs, what })
const backend = (l: BackendView[], id = BACKEND_ID) => l.find((x) => x.id === id)
const chat = () => net.http(net.b, "http://127.0.0.1:8000/v1/chat/completions", { model: "llama3.2:latest", messages: [{ role: "user", content: "hi" }] })

/** Browse a service type from namespace A: `up <port> <name>` / `down <port> <name>` lines. */
async function watch(type: string): Promise<LineFollower & { stop(): Promise<void> }> {
  const p = net.spawn(net.a, [BUN, join(ROOT, "tests/helpers/mdns-watch.ts"), type])
  return Object.assign(follow(p.stdout), {
    async stop() {
      p.kill("SIGTERM")
      await p.exited
    },
  })
}

/** Wait for `n` more health rounds of the gateway (the configured marker's last check moves on each time). */
async function healthRounds(n: number) {
  for (let i = 0; i < n; i++) {
    const last = backend(await backends(), "marker")?.last_check
    await wait("a health round", backends, (l) => backend(l, "marker")?.last_check !== last, 5000)
  }
}

setDefaultTimeout(30_000)
const available = netnsAvailable()

beforeAll(async () => {
  if (!available) return
  net = createNetPair()
  emulator = startEmulator()
  // A configured backend beside the gateway: its checks show the health rounds going on.
  net.spawn(net.b, emulatorCommand("vllm", { port: 11435, models: "marker-model" }))
  const config = join(dir, "nexus.toml")
  // mDNS only (no port probing), quick health checks and a short grace period.
  writeFileSync(
    config,
    `[server]\nhost = "0.0.0.0"\nport = 8000\n[discovery]\nprobe_ports = []\ngrace_period_seconds = ${GRACE_SECONDS}\n` +
      `[health_check]\ninterval_seconds = 1\ntimeout_seconds = 1\nfailure_threshold = 1\n[logging]\nformat = "json"\n` +
      `[[backends]]\nname = "marker"\nurl = "http://127.0.0.1:11435"\ntype = "vllm"\n`
  )
  nexus = net.spawn(net.b, [BUN, MAIN, "serve", "--config", config])
  await wait("nexus up", backends, (l) => backend(l, "marker")?.status === "healthy")
})

afterAll(() => net?.destroy())

describe.skipIf(!available)("mDNS between two network namespaces", () => {
  test("a server published by `nexus advertise` appears in `nexus serve` and is routable", async () => {
    advertiser = startAdvertiser()
    const list = await wait("discovered", backends, (l) => backend(l)?.status === "healthy")
    expect(backend(list)).toMatchObject({ id: BACKEND_ID, source: "mdns", url: `http://${net.addrA}:11434`, models: [{ id: "llama3.2:latest" }] })
    const r = await chat()
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body).choices[0].message.content).toContain("emulated model")
  })

  test("the CLI on another machine finds the gateway by its _nexus._tcp advertisement", async () => {
    const p = net.spawn(net.a, [BUN, MAIN, "health", "--json"], { NEXUS_URL: "" })
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
    expect(code).toBe(0)
    expect(err).toContain(`found via mDNS`)
    expect(err).toContain(`http://${net.addrB}:8000`)
    expect(JSON.parse(out)).toMatchObject({ status: "healthy", models: 2 }) // llama3.2 and the marker's model
  })

  test("a goodbye takes it out of rotation at once; back within the grace period, routable at once", async () => {
    advertiser!.kill("SIGTERM")
    expect(await advertiser!.exited).toBe(0)
    await wait("withdrawn", backends, (l) => backend(l)?.status === "unknown", 3000)
    // The server still answers, but a withdrawn service is not used, even by health checks:
    // rounds go on (a round starts when the last one ended, so the third proves the second,
    // begun after the goodbye, is over) and leave it as it is.
    expect((await chat()).status).toBe(503)
    await healthRounds(3)
    expect(backend(await backends())?.status).toBe("unknown")

    advertiser = startAdvertiser()
    await wait("back", backends, (l) => backend(l)?.status === "healthy", 5000)
    expect((await chat()).status).toBe(200)
  })

  test("gone for longer than the grace period: removed", async () => {
    advertiser!.kill("SIGTERM")
    await advertiser!.exited
    await wait("withdrawn", backends, (l) => backend(l)?.status === "unknown", 3000)
    await wait("removed", backends, (l) => !backend(l), (GRACE_SECONDS + 3) * 1000)
  })

  test("a silent crash (no goodbye): health checks, not mDNS, take it out", async () => {
    advertiser = startAdvertiser()
    await wait("rediscovered", backends, (l) => backend(l)?.status === "healthy")
    advertiser.kill("SIGKILL")
    emulator.kill("SIGKILL")
    await wait("unhealthy", backends, (l) => backend(l)?.status === "unhealthy", 6000)
    expect((await chat()).status).toBe(503)
    // The host comes back: health checks make it routable again without any mDNS event.
    emulator = startEmulator()
    await wait("recovered", backends, (l) => backend(l)?.status === "healthy", 8000)
  })

  test("nexus advertise follows its servers: one that stops is withdrawn, one that returns is published again", async () => {
    advertiser = startAdvertiser()
    // JSON logs go to stderr.
    await follow(advertiser.stderr).next((l) => l.includes("advertising ollama on port 11434"))
    emulator.kill("SIGKILL")
    await emulator.exited
    // The advertiser notices at its next probe and sends a goodbye: out of rotation.
    await wait("withdrawn by the advertiser", backends, (l) => backend(l)?.status === "unknown", 5000)
    emulator = startEmulator()
    await wait("published again", backends, (l) => backend(l)?.status === "healthy", 8000)
    expect((await chat()).status).toBe(200)
    advertiser.kill("SIGTERM")
    expect(await advertiser.exited).toBe(0)
  })

  test("nexus advertise does not publish a server that only listens on localhost, and says how to fix it", async () => {
    const local = net.spawn(net.a, emulatorCommand("ollama", { port: 11500, logRequests: true }))
    const knocks = follow(local.stdout)
    await knocks.next((l) => l.includes("emulator listening on"))
    const watcher = await watch("_llm._tcp")
    const adv = startAdvertiser(11500)
    const log = follow(adv.stderr)
    await log.next((l) => l.includes("ollama on port 11500 listens on localhost only, so other machines cannot reach it (start it with OLLAMA_HOST=0.0.0.0); not advertised"))
    // Two more rounds of the advertiser (each fingerprints the port, asking /node_id among others) publish nothing either.
    const isProbe = (l: string) => l === "GET /node_id"
    await knocks.count(isProbe, knocks.lines.filter(isProbe).length + 2)
    expect(watcher.lines.filter((l) => l.startsWith("up "))).toEqual([])
    adv.kill("SIGTERM")
    expect(await adv.exited).toBe(0)
    local.kill("SIGTERM")
    await watcher.stop()
  })

  test("[discovery] advertise = false: the gateway publishes nothing", async () => {
    const watcher = await watch("_nexus._tcp")
    await watcher.next((l) => l === `up 8000 Nexus on ${HOST}`)
    const quiet = serveInA("quiet", `port = 8003\n[discovery]\nprobe_ports = []\nadvertise = false\n`)
    await wait("serving", () => net.http(net.a, "http://127.0.0.1:8003/health"), (r) => r.status === 200)
    // A gateway that does advertise, started after it, is seen: the quiet one, had it
    // published when it started, would have been seen before.
    const loud = serveInA("loud", `port = 8004\n[discovery]\nprobe_ports = []\nservice_types = []\n`)
    await watcher.next((l) => l.startsWith("up 8004 "), 8000)
    expect(watcher.lines.filter((l) => l.startsWith("up 8003 "))).toEqual([])
    // Gone again, and its name with it, before the next test wants that name.
    loud.kill("SIGTERM")
    expect(await loud.exited).toBe(0)
    await watcher.next((l) => l.startsWith("down 8004 "), 3000)
    quiet.kill("SIGTERM")
    expect(await quiet.exited).toBe(0)
    await watcher.stop()
  })

  test("a name already taken on the network: a warning, and the next name", async () => {
    const watcher = await watch("_nexus._tcp")
    await watcher.next((l) => l === `up 8000 Nexus on ${HOST}`)
    // A second gateway on a machine with the same host name wants the same instance name.
    const twin = serveInA("twin", `port = 8002\n[discovery]\nprobe_ports = []\nservice_types = []\n[logging]\nformat = "json"\n`)
    const output = follow(twin.stdout, twin.stderr)
    await watcher.next((l) => l === `up 8002 Nexus on ${HOST} (2)`, 8000).catch((err: Error) => {
      twin.kill("SIGTERM")
      throw new Error(`${err.message}\n${output.lines.join("\n")}`)
    })
    twin.kill("SIGTERM")
    expect(await twin.exited).toBe(0)
    await output.next((l) => l.includes("mDNS name"))
    expect(output.lines.join("\n")).toContain(`mDNS name \\"Nexus on ${HOST}\\" is already in use on the network; trying \\"Nexus on ${HOST} (2)\\"`)
    await watcher.stop()
  })

  test("SIGTERM withdraws the gateway's own advertisement (goodbye) and exits 0", async () => {
    const watcher = await watch("_nexus._tcp")
    await watcher.next((l) => l === `up 8000 Nexus on ${HOST}`)
    nexus.kill("SIGTERM")
    expect(await nexus.exited).toBe(0)
    await watcher.next((l) => l === `down 8000 Nexus on ${HOST}`, 3000)
    await watcher.stop()
    const log = (await new Response(nexus.stdout).text()) + (await new Response(nexus.stderr).text())
    expect(log).toContain(`"msg":"discovered ollama at http://${net.addrA}:11434 (mdns)"`)
  })
})

describe.skipIf(!available)("mDNS failures never take Nexus down", () => {
  /** Serve in namespace `ns` until mDNS has given up, check it still answers, stop it: everything it wrote. */
  async function serveThroughFailure(spawn: (cmd: string[]) => Proc, http: (url: string) => Promise<{ status: number }>, port: number, warning: string) {
    const config = join(dir, `failing-${port}.toml`)
    writeFileSync(config, `[server]\nhost = "0.0.0.0"\nport = ${port}\n[discovery]\nprobe_ports = []\n[logging]\nformat = "json"\n`)
    const p = spawn([BUN, MAIN, "serve", "--config", config])
    const output = follow(p.stdout, p.stderr)
    await output.next((l) => l.includes(warning))
    await wait("still serving", () => http(`http://127.0.0.1:${port}/health`), (r) => r.status === 200)
    expect(p.exitCode).toBeNull()
    p.kill("SIGTERM")
    expect(await p.exited).toBe(0)
    return output.lines.join("\n")
  }

  test("no multicast route: one warning, and the gateway keeps serving", async () => {
    const lonely = createNamespace() // loopback only
    try {
      const log = await serveThroughFailure(lonely.spawn, lonely.http, 8000, "mDNS unavailable")
      expect(log).toMatch(/mDNS unavailable \(no network interface with a multicast route\)/)
      expect(log.match(/mDNS unavailable/g)!.length).toBe(1)
    } finally {
      lonely.destroy()
    }
  })

  test("UDP 5353 held by a program that does not share it: one warning, and the gateway keeps serving", async () => {
    const pair = createNetPair() // fresh: nothing else may hold 5353 there
    try {
      // Binds 5353 without SO_REUSEADDR, as a non-cooperating responder would.
      const holder = pair.spawn(pair.a, ["python3", "-c", "import socket,time; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 5353)); print('bound', flush=True); time.sleep(60)"])
      await follow(holder.stdout).next((l) => l === "bound")
      const log = await serveThroughFailure((cmd) => pair.spawn(pair.a, cmd), (url) => pair.http(pair.a, url), 8001, "mDNS unavailable")
      expect(log).toContain("mDNS unavailable (UDP port 5353 is in use by a program that does not share it)")
      expect(log.match(/mDNS unavailable/g)!.length).toBe(1)
    } finally {
      pair.destroy()
    }
  })
})
