/**
 * Discovery over real mDNS packets: `nexus advertise` beside an emulated Ollama in one
 * network namespace (a machine called gpu-box), the gateway in another (this machine's
 * own hostname), a veth pair between them. The gateway is the one `nexus serve` starts,
 * on a clock the tests jump over its grace period (tests/helpers/jump-gateway.ts); other
 * gateways here are `nexus serve` itself. Nothing here touches this machine's own
 * interfaces. Skipped where namespaces cannot be made.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { follow, type LineFollower } from "../helpers/lines.ts"
import { asHost, createNetPair, netnsAvailable, type NetPair } from "../helpers/netns.ts"
import { until as waitUntil } from "../helpers/wait.ts"
import { lacking } from "../helpers/skip.ts"

const ROOT = new URL("../..", import.meta.url).pathname
const BUN = process.execPath
const GPU_BOX = "gpu-box"
const BACKEND_ID = `ollama-${GPU_BOX}-11434`
const GRACE_SECONDS = 60

interface BackendView {
  id: string
  status: string
  source: string
  url: string
  models: { id: string }[]
  last_check: string | null
}

let net: NetPair
type Proc = ReturnType<NetPair["spawn"]>
/** The gateway (`nexus serve`'s, on a clock the tests jump) and everything it printed. */
let nexus: Proc
let nexusOut: LineFollower
let jumps = 0
let emulator: Proc
let advertiser: Proc | undefined
const dir = mkdtempSync(join(tmpdir(), "nexus-mdns-"))
/** Namespace A is another machine: its own hostname and its own state directory. */
const onGpuBox = (cmd: string[], env: Record<string, string> = {}) => net.spawn(net.a, asHost(GPU_BOX, cmd), { NEXUS_DATA_DIR: join(dir, "gpu-box-state"), ...env })

function startEmulator() {
  return onGpuBox([BUN, join(ROOT, "emulators/cli.ts"), "ollama", "--port", "11434", "--host", "0.0.0.0", "--models", "llama3.2:latest"])
}
function startAdvertiser() {
  return onGpuBox([BUN, join(ROOT, "src/main.ts"), "advertise", "--interval", "0.25", "--ports", "11434", "--log-format", "json"])
}
/** Move the gateway's clock `seconds` forward; resolves once the timers that made due have run. */
async function jump(seconds: number): Promise<void> {
  nexus.stdin.write(`jump ${seconds * 1000}\n`)
  await nexus.stdin.flush()
  await nexusOut.count((l) => l.startsWith("jumped "), ++jumps)
}
async function backends(): Promise<BackendView[]> {
  const r = await net.http(net.b, "http://127.0.0.1:8000/v1/backends")
  return r.status === 200 ? (JSON.parse(r.body) as { backends: BackendView[] }).backends : []
}
/** Poll over the namespaces' curl: every 100 ms is plenty. */
const until = <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> =>
  waitUntil(get, ok, { timeoutMs, what, everyMs: 100 })
/** Wait for `n` more health rounds of the gateway (the configured marker's last check moves on each time). */
async function healthRounds(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const last = (await backends()).find((x) => x.id === "marker")?.last_check
    await until("a health round", backends, (l) => l.find((x) => x.id === "marker")?.last_check !== last, 5000)
  }
}
const chat = () => net.http(net.b, "http://127.0.0.1:8000/v1/chat/completions", { model: "llama3.2:latest", messages: [{ role: "user", content: "hi" }] })

/** Browse a service type from namespace A: `up <name>` / `down <name>` lines (the port dropped). */
async function watch(type: string) {
  const p = onGpuBox([BUN, join(ROOT, "tests/helpers/mdns-watch.ts"), type])
  const dropPort = new TransformStream<string, string>({ transform: (text, out) => out.enqueue(text.replace(/^(up|down) \d+ /gm, "$1 ")) })
  const named = p.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(dropPort).pipeThrough(new TextEncoderStream())
  return {
    ...follow(named),
    async stop() {
      p.kill("SIGTERM")
      await p.exited
    },
  }
}

setDefaultTimeout(30_000)
const available = !lacking("network namespaces are not available (needs root and ip netns)", netnsAvailable())

beforeAll(async () => {
  if (!available) return
  net = createNetPair()
  emulator = startEmulator()
  // A configured backend beside the gateway, whose checks show that health rounds go on.
  net.spawn(net.b, [BUN, join(ROOT, "emulators/cli.ts"), "vllm", "--port", "11435", "--host", "127.0.0.1", "--models", "marker-model"])
  const config = join(dir, "nexus.toml")
  // mDNS only (no port probing) and quick health checks; the grace period passes when the tests jump the clock.
  writeFileSync(
    config,
    `[server]\nhost = "0.0.0.0"\nport = 8000\n[discovery]\nprobe_ports = []\ngrace_period_seconds = ${GRACE_SECONDS}\n` +
      `[health_check]\ninterval_seconds = 1\ntimeout_seconds = 1\nfailure_threshold = 1\n[logging]\nformat = "json"\n` +
      `[[backends]]\nname = "marker"\nurl = "http://127.0.0.1:11435"\ntype = "vllm"\n`
  )
  nexus = net.spawn(net.b, [BUN, join(ROOT, "tests/helpers/jump-gateway.ts"), config])
  nexusOut = follow(nexus.stdout, nexus.stderr)
  await until("nexus up", backends, (l) => l.find((x) => x.id === "marker")?.status === "healthy")
})

afterAll(() => net?.destroy())

describe.skipIf(!available)("mDNS between two network namespaces", () => {
  test("a server published by `nexus advertise` appears in `nexus serve` and is routable", async () => {
    advertiser = startAdvertiser()
    const list = await until("discovered", backends, (l) => l.some((x) => x.id === BACKEND_ID && x.status === "healthy"))
    const b = list.find((x) => x.id === BACKEND_ID)
    expect(b).toMatchObject({ id: BACKEND_ID, source: "mdns", url: `http://${net.addrA}:11434`, models: [{ id: "llama3.2:latest" }] })
    const r = await chat()
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body).choices[0].message.content).toContain("emulated model")
  })

  test("the CLI on another machine finds the gateway by its _nexus._tcp advertisement", async () => {
    const p = onGpuBox([BUN, join(ROOT, "src/main.ts"), "health", "--json"], { NEXUS_URL: "" })
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
    expect(code).toBe(0)
    expect(err).toContain(`found via mDNS`)
    expect(err).toContain(`http://${net.addrB}:8000`)
    expect(JSON.parse(out)).toMatchObject({ status: "healthy", models: 2 }) // llama3.2 and the marker's model
  })

  test("a goodbye takes it out of rotation at once; back within the grace period, routable at once", async () => {
    advertiser!.kill("SIGTERM")
    expect(await advertiser!.exited).toBe(0)
    await until("withdrawn", backends, (l) => l.find((x) => x.id === BACKEND_ID)?.status === "unknown", 3000)
    // The server still answers, but a withdrawn service is not used, even by health checks:
    // rounds go on (a round starts when the last one ended, so the third proves the second,
    // begun after the goodbye, is over) and leave it as it is.
    expect((await chat()).status).toBe(503)
    await healthRounds(3)
    expect((await backends()).find((x) => x.id === BACKEND_ID)?.status).toBe("unknown")
    // Half the grace period later (the clock also runs on its own meanwhile): still known,
    // so routable at once when it is back.
    await jump(GRACE_SECONDS / 2)
    expect((await backends()).find((x) => x.id === BACKEND_ID)?.status).toBe("unknown")

    advertiser = startAdvertiser()
    await until("back", backends, (l) => l.find((x) => x.id === BACKEND_ID)?.status === "healthy", 5000)
    expect((await chat()).status).toBe(200)
  })

  test("gone for longer than the grace period: removed", async () => {
    advertiser!.kill("SIGTERM")
    await advertiser!.exited
    await until("withdrawn", backends, (l) => l.find((x) => x.id === BACKEND_ID)?.status === "unknown", 3000)
    await jump(GRACE_SECONDS / 2)
    expect((await backends()).some((x) => x.id === BACKEND_ID)).toBe(true)
    await jump(GRACE_SECONDS / 2)
    expect((await backends()).some((x) => x.id === BACKEND_ID)).toBe(false)
  })

  test("a silent crash (no goodbye): health checks, not mDNS, take it out", async () => {
    advertiser = startAdvertiser()
    await until("rediscovered", backends, (l) => l.find((x) => x.id === BACKEND_ID)?.status === "healthy")
    advertiser.kill("SIGKILL")
    emulator.kill("SIGKILL")
    await until("unhealthy", backends, (l) => l.find((x) => x.id === BACKEND_ID)?.status === "unhealthy", 6000)
    expect((await chat()).status).toBe(503)
    // The host comes back: health checks make it routable again without any mDNS event.
    emulator = startEmulator()
    await until("recovered", backends, (l) => l.find((x) => x.id === BACKEND_ID)?.status === "healthy", 8000)
  })

  test("nexus advertise follows its servers: one that stops is withdrawn, one that returns is published again", async () => {
    advertiser = startAdvertiser()
    // JSON logs go to stderr.
    await follow(advertiser.stderr).next((l) => l.includes("advertising ollama on port 11434"))
    emulator.kill("SIGKILL")
    await emulator.exited
    // The advertiser notices at its next probe and sends a goodbye: out of rotation.
    await until("withdrawn by the advertiser", backends, (l) => l.find((x) => x.id === BACKEND_ID)?.status === "unknown", 5000)
    emulator = startEmulator()
    await until("published again", backends, (l) => l.find((x) => x.id === BACKEND_ID)?.status === "healthy", 8000)
    expect((await chat()).status).toBe(200)
    advertiser.kill("SIGTERM")
    expect(await advertiser.exited).toBe(0)
  })

  test("nexus advertise does not publish a server that only listens on localhost, and says how to fix it", async () => {
    const local = onGpuBox([BUN, join(ROOT, "emulators/cli.ts"), "ollama", "--port", "11500", "--host", "127.0.0.1"])
    await until("emulator up", () => net.http(net.a, "http://127.0.0.1:11500/"), (r) => r.status === 200)
    const watcher = await watch("_llm._tcp")
    // 11500 comes first in the same round as the reachable 11434: once 11434 is up, the
    // decision about 11500 has been made, with no waiting on a clock.
    const adv = onGpuBox([BUN, join(ROOT, "src/main.ts"), "advertise", "--interval", "1", "--ports", "11500,11434", "--log-format", "json"])
    const log = follow(adv.stderr)
    await log.next((l) => l.includes("ollama on port 11500 listens on localhost only, so other machines cannot reach it (start it with OLLAMA_HOST=0.0.0.0); not advertised"))
    await watcher.next((l) => l === `up ollama on ${GPU_BOX}:11434`, 8000)
    expect(watcher.lines.filter((l) => l.startsWith("up "))).toEqual([`up ollama on ${GPU_BOX}:11434`])
    adv.kill("SIGTERM")
    expect(await adv.exited).toBe(0)
    local.kill("SIGTERM")
    await watcher.stop()
  })

  test("[discovery] advertise = false: the gateway publishes nothing", async () => {
    const watcher = await watch("_nexus._tcp")
    await watcher.next((l) => l === `up Nexus on ${hostname()}`)
    const config = join(dir, "quiet.toml")
    writeFileSync(config, `[server]\nhost = "0.0.0.0"\nport = 8005\n[discovery]\nprobe_ports = []\nadvertise = false\n`)
    const quiet = onGpuBox([BUN, join(ROOT, "src/main.ts"), "serve", "--config", config])
    await until("serving", () => net.http(net.a, "http://127.0.0.1:8005/health"), (r) => r.status === 200)
    // A control started after it on the same machine, advertising the same instance name
    // on a lower port: a quiet one that published first, or probed at the same time (and
    // won the tie-break with its higher port), would push the control to "(2)".
    const loudConfig = join(dir, "loud.toml")
    writeFileSync(loudConfig, `[server]\nhost = "0.0.0.0"\nport = 8004\n[discovery]\nprobe_ports = []\nservice_types = []\n[logging]\nformat = "json"\n`)
    const loud = onGpuBox([BUN, join(ROOT, "src/main.ts"), "serve", "--config", loudConfig])
    const published = await follow(loud.stderr).next((l) => l.includes("advertising this gateway as"), 8000)
    const instance = /as \\"([^\\]+)\\"/.exec(published)![1]
    await watcher.next((l) => l === `up ${instance}`, 8000)
    expect(watcher.lines.filter((l) => l.startsWith("up "))).toEqual([`up Nexus on ${hostname()}`, `up Nexus on ${GPU_BOX}`])
    for (const p of [quiet, loud]) {
      p.kill("SIGTERM")
      expect(await p.exited).toBe(0)
    }
    // `nexus serve` withdraws its advertisement (goodbye) on SIGTERM.
    await watcher.next((l) => l === `down ${instance}`, 3000)
    await watcher.stop()
  })

  test("a name already taken on the network: a warning, and the next name", async () => {
    const watcher = await watch("_nexus._tcp")
    await watcher.next((l) => l === `up Nexus on ${hostname()}`)
    // A second gateway on the same machine (same host name, same addresses, another port)
    // wants the same instance name. (A machine that merely shares the hostname claims a
    // host name of its own first: mdns-lan.test.ts.)
    const config = join(dir, "twin.toml")
    writeFileSync(config, `[server]\nhost = "0.0.0.0"\nport = 8002\n[discovery]\nprobe_ports = []\nservice_types = []\n[logging]\nformat = "json"\n`)
    const twin = net.spawn(net.b, [BUN, join(ROOT, "src/main.ts"), "serve", "--config", config])
    await watcher.next((l) => l === `up Nexus on ${hostname()} (2)`, 8000).catch(async (err) => {
      twin.kill("SIGTERM")
      throw new Error(`${err.message}\n${await new Response(twin.stdout).text()}${await new Response(twin.stderr).text()}`)
    })
    twin.kill("SIGTERM")
    expect(await twin.exited).toBe(0)
    const log = (await new Response(twin.stdout).text()) + (await new Response(twin.stderr).text())
    expect(log).toContain(`mDNS name \\"Nexus on ${hostname()}\\" is already in use on the network; trying \\"Nexus on ${hostname()} (2)\\"`)
    await watcher.stop()
  })

  test("SIGTERM withdraws the gateway's own advertisement (goodbye) and exits 0", async () => {
    const watcher = await watch("_nexus._tcp")
    await watcher.next((l) => l === `up Nexus on ${hostname()}`)
    nexus.kill("SIGTERM")
    expect(await nexus.exited).toBe(0)
    await watcher.next((l) => l === `down Nexus on ${hostname()}`, 3000)
    await watcher.stop()
    expect(nexusOut.lines.join("\n")).toContain(`"msg":"discovered ollama at http://${net.addrA}:11434 (mdns)"`)
  })
})

describe.skipIf(!available)("mDNS failures never take Nexus down", () => {

  test("no multicast route: one warning, and the gateway keeps serving", async () => {
    const ns = `nx-lo-${Math.random().toString(16).slice(2, 8)}`
    Bun.spawnSync(["ip", "netns", "add", ns])
    Bun.spawnSync(["ip", "-n", ns, "link", "set", "lo", "up"])
    try {
      const config = join(dir, "lonely.toml")
      writeFileSync(config, `[server]\nhost = "0.0.0.0"\nport = 8000\n[discovery]\nprobe_ports = []\n[logging]\nformat = "json"\n`)
      const p = Bun.spawn(["ip", "netns", "exec", ns, BUN, join(ROOT, "src/main.ts"), "serve", "--config", config], { env: { ...process.env }, stdout: "pipe", stderr: "pipe" })
      const log = follow(p.stdout, p.stderr)
      const health = () => Number(Bun.spawnSync(["ip", "netns", "exec", ns, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:8000/health"]).stdout.toString())
      await until("serving", async () => health(), (code) => code === 200)
      // The warning comes, and the gateway answers after it: mDNS failing did not stop it.
      await log.next((l) => /mDNS unavailable \(no network interface with a multicast route\)/.test(l), 8000)
      expect(health()).toBe(200)
      expect(p.exitCode).toBeNull()
      p.kill("SIGTERM")
      expect(await p.exited).toBe(0)
      expect(log.lines.filter((l) => l.includes("mDNS unavailable")).length).toBe(1)
    } finally {
      Bun.spawnSync(["ip", "netns", "del", ns])
    }
  })

  test("UDP 5353 held by a program that does not share it: one warning, and the gateway keeps serving", async () => {
    const pair = createNetPair() // fresh: nothing else may hold 5353 there
    try {
      // Binds 5353 without SO_REUSEADDR, as a non-cooperating responder would.
      const holder = pair.spawn(pair.a, ["python3", "-c", "import socket,time; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 5353)); print('bound', flush=True); time.sleep(60)"])
      const first = await holder.stdout.getReader().read()
      expect(new TextDecoder().decode(first.value)).toStartWith("bound")
      const config = join(dir, "busy.toml")
      writeFileSync(config, `[server]\nhost = "0.0.0.0"\nport = 8001\n[discovery]\nprobe_ports = []\n[logging]\nformat = "json"\n`)
      const p = pair.spawn(pair.a, [BUN, join(ROOT, "src/main.ts"), "serve", "--config", config])
      const log = follow(p.stdout, p.stderr)
      await until("serving", () => pair.http(pair.a, "http://127.0.0.1:8001/health"), (r) => r.status === 200)
      await log.next((l) => l.includes("mDNS unavailable (UDP port 5353 is in use by a program that does not share it)"), 8000)
      expect((await pair.http(pair.a, "http://127.0.0.1:8001/health")).status).toBe(200)
      expect(p.exitCode).toBeNull()
      p.kill("SIGTERM")
      expect(await p.exited).toBe(0)
    } finally {
      pair.destroy()
    }
  })
})
