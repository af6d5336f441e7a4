/**
 * The three-path benchmark of reference/targets.md, in one run against one emulated
 * backend: direct to the emulator, through a minimal Bun proxy (the runtime floor), and
 * through `nexus serve`. Non-streaming load with wrk (c=1, c=64); streaming with 100 and
 * 500 concurrent streams of 64 chunks (20 ms to the first, 5 ms between).
 *   npm run bench [-- --quick] [-- --json]
 * Needs `wrk` (Debian package). Every process runs on 127.0.0.1 and is stopped at the end.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "../emulators/ports.ts"
import { benchRouting } from "./bench/routing.ts"

const ROOT = new URL("..", import.meta.url).pathname
const quick = process.argv.includes("--quick")
const asJson = process.argv.includes("--json")
const DURATION = quick ? "2s" : "5s"
const STREAM_COUNTS = quick ? [100] : [100, 500]
const children: ReturnType<typeof Bun.spawn>[] = []

function log(msg: string): void {
  if (!asJson) console.error(msg)
}

function spawn(cmd: string[], env: Record<string, string> = {}): ReturnType<typeof Bun.spawn> {
  const p = Bun.spawn(cmd, { cwd: ROOT, env: { ...process.env, ...env }, stdout: "ignore", stderr: "ignore" })
  children.push(p)
  return p
}

async function waitFor(url: string, ok: (r: Response) => Promise<boolean> = async (r) => r.status < 500): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const r = await fetch(url).catch(() => undefined)
    if (r && (await ok(r))) return
    await Bun.sleep(25)
  }
  throw new Error(`not ready: ${url}`)
}

function cleanup(): void {
  for (const c of children) c.kill("SIGKILL")
}
process.on("SIGINT", () => {
  cleanup()
  process.exit(130)
})

interface WrkResult {
  rps: number
  p50Ms: number
  p99Ms: number
}

function toMs(s: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(s)
  if (!m) return Number.NaN
  const v = Number(m[1])
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v
}

async function wrk(url: string, connections: number, threads: number, script: string): Promise<WrkResult> {
  const args = ["wrk", `-t${threads}`, `-c${connections}`, `-d${DURATION}`, "--latency", "-s", script, url]
  // Warm-up, then the measured run.
  Bun.spawnSync(["wrk", `-t${threads}`, `-c${connections}`, "-d1s", "-s", script, url])
  const out = Bun.spawnSync(args).stdout.toString()
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
    p50Ms: toMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? ""),
    p99Ms: toMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? ""),
  }
}

interface StreamResult {
  ttftP50: number
  ttftP99: number
  lostFrames: number
  badDone: number
  outOfOrder: number
  errors: number
}

async function streams(base: string, model: string, n: number): Promise<StreamResult> {
  const p = Bun.spawn([process.execPath, join(ROOT, "scripts/bench/streams.ts"), base, model, String(n), "66"], {
    env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: "8192" },
    stdout: "pipe",
  })
  return JSON.parse(await new Response(p.stdout).text())
}

if (!Bun.which("wrk")) {
  console.error("wrk is needed for the non-streaming runs: apt-get install -y wrk")
  process.exit(1)
}

const dir = mkdtempSync(join(tmpdir(), "nexus-bench-"))
const luaPath = join(dir, "post.lua")
writeFileSync(
  luaPath,
  `wrk.method = "POST"\nwrk.body = '{"model":"fast","messages":[{"role":"user","content":"hello there"}],"stream":false}'\nwrk.headers["Content-Type"] = "application/json"\n`
)

try {
  const emulatorCli = join(ROOT, "emulators/cli.ts")
  const fastPort = freePort()
  const pacedPort = freePort()
  spawn([process.execPath, emulatorCli, "vllm", "--port", String(fastPort), "--models", "fast", "--chunks", "8"])
  spawn([process.execPath, emulatorCli, "vllm", "--port", String(pacedPort), "--models", "paced", "--chunks", "64", "--latency", "20", "--chunk-delay", "5"])
  const fast = `http://127.0.0.1:${fastPort}`
  const paced = `http://127.0.0.1:${pacedPort}`
  await waitFor(`${fast}/health`)
  await waitFor(`${paced}/health`)

  const floorFast = freePort()
  const floorPaced = freePort()
  for (const [port, upstream] of [[floorFast, fast], [floorPaced, paced]] as const) {
    spawn([process.execPath, join(ROOT, "scripts/bench/floor.ts"), String(port), upstream], { BUN_CONFIG_MAX_HTTP_REQUESTS: "8192" })
  }

  const nexusPort = freePort()
  const configPath = join(dir, "nexus.toml")
  writeFileSync(
    configPath,
    `[server]\nhost = "127.0.0.1"\nport = ${nexusPort}\n[discovery]\nenabled = false\n[[backends]]\nname = "fast"\nurl = "${fast}"\ntype = "vllm"\n[[backends]]\nname = "paced"\nurl = "${paced}"\ntype = "vllm"\n`
  )
  spawn([process.execPath, join(ROOT, "src/main.ts"), "serve", "--config", configPath], { NEXUS_DATA_DIR: join(configPath, "..", "state") })
  const nexus = `http://127.0.0.1:${nexusPort}`
  await waitFor(`http://127.0.0.1:${floorFast}/health`)
  await waitFor(`http://127.0.0.1:${floorPaced}/health`)
  await waitFor(`${nexus}/health`, async (r) => ((await r.json()) as { models: number }).models >= 2)

  const paths = [
    { name: "direct", fast, paced },
    { name: "floor", fast: `http://127.0.0.1:${floorFast}`, paced: `http://127.0.0.1:${floorPaced}` },
    { name: "nexus", fast: nexus, paced: nexus },
  ]
  const results: Record<string, { c1: WrkResult; c64: WrkResult; streams: Record<number, StreamResult> }> = {}
  for (const p of paths) {
    log(`${p.name}: c=1 ...`)
    const c1 = await wrk(`${p.fast}/v1/chat/completions`, 1, 1, luaPath)
    log(`${p.name}: c=64 ...`)
    const c64 = await wrk(`${p.fast}/v1/chat/completions`, 64, 2, luaPath)
    const s: Record<number, StreamResult> = {}
    for (const n of STREAM_COUNTS) {
      log(`${p.name}: ${n} streams ...`)
      s[n] = await streams(p.paced, "paced", n)
    }
    results[p.name] = { c1, c64, streams: s }
  }
  const routing = benchRouting(quick ? 20_000 : 100_000)

  const d = results.direct!
  const f = results.floor!
  const n = results.nexus!
  const ratios = {
    throughputVsFloor: n.c64.rps / f.c64.rps,
    addedLatencyVsFloor: (n.c1.p50Ms - d.c1.p50Ms) / (f.c1.p50Ms - d.c1.p50Ms),
    ttftDelta: Object.fromEntries(STREAM_COUNTS.map((c) => [c, n.streams[c]!.ttftP50 - f.streams[c]!.ttftP50])),
  }
  if (asJson) {
    console.log(JSON.stringify({ results, ratios, routing, nexusLogLevel: "info" }, null, 2))
  } else {
    const fmt = (v: number, unit = "") => (Number.isFinite(v) ? `${v.toFixed(v < 10 ? 2 : 0)}${unit}` : "n/a")
    const head = ["path", "c=1 p50", "c=1 p99", "c=64 req/s", "c=64 p99", ...STREAM_COUNTS.map((c) => `${c} streams TTFT p50`), "lost frames"]
    const rows = paths.map(({ name }) => {
      const r = results[name]!
      const lost = STREAM_COUNTS.reduce((a, c) => a + r.streams[c]!.lostFrames + r.streams[c]!.badDone + r.streams[c]!.outOfOrder + r.streams[c]!.errors, 0)
      return [name, fmt(r.c1.p50Ms, " ms"), fmt(r.c1.p99Ms, " ms"), fmt(r.c64.rps), fmt(r.c64.p99Ms, " ms"), ...STREAM_COUNTS.map((c) => fmt(r.streams[c]!.ttftP50, " ms")), String(lost)]
    })
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
    console.log(line(head))
    console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`)
    for (const r of rows) console.log(line(r))
    const mark = (ok: boolean) => (ok ? "PASS" : "MISS")
    console.log("")
    console.log(`throughput c=64, nexus / floor: ${ratios.throughputVsFloor.toFixed(2)} (target >= 0.80) ${mark(ratios.throughputVsFloor >= 0.8)}`)
    console.log(`added latency c=1 p50, (nexus - direct) / (floor - direct): ${ratios.addedLatencyVsFloor.toFixed(2)} (target <= 1.25) ${mark(ratios.addedLatencyVsFloor <= 1.25)}`)
    for (const c of STREAM_COUNTS) {
      const delta = ratios.ttftDelta[c]!
      const target = c <= 100 ? 2 : 10
      console.log(`TTFT p50 at ${c} streams, nexus - floor: ${delta.toFixed(2)} ms (target <= +${target} ms) ${mark(delta <= target)}`)
    }
    console.log(`routing decision (${routing.backends} backends, ${routing.models} models): mean ${(routing.meanNs / 1000).toFixed(2)} µs, p99 ${(routing.p99Ns / 1000).toFixed(2)} µs (target <= 20 µs) ${mark(routing.meanNs <= 20_000)}`)
    console.log(`(nexus ran with its default log level, info, logging to /dev/null)`)
  }
} finally {
  cleanup()
}
