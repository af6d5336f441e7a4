/**
 * The three-path performance comparison, in one run against one emulated
 * backend: direct to the emulator, through a minimal Bun proxy (the runtime floor), and
 * through `nexus serve`.
 *
 *   - c=1 latency with wrk (p50, p99), after 3 s of c=64 warm-up on each path (JIT settles);
 *   - c=64 non-streaming in alternating rounds (direct, floor, nexus, direct, floor, ...):
 *     throughput, p99 and the CPU time (user + system, from /proc) each server process
 *     spent per request; the median over the rounds is reported, because on a shared
 *     2-vCPU machine CPU per request is the stable figure and wall-clock rates are not;
 *     the same rounds send the chat as Anthropic Messages and as Ollama `/api/chat` to the
 *     same vLLM backend (translated both ways), reported against the pass-through;
 *   - 100 and 500 concurrent streams of 64 chunks (20 ms to the first, 5 ms between), after
 *     a warm-up, 3 runs each (the median TTFT p50 is reported):
 *     time to first token, and every frame checked (count, order, one [DONE]);
 *   - 1,000 concurrent streams with the proxies' resident memory sampled throughout;
 *   - Nexus's idle RSS (before any load) and after the load;
 *   - the routing micro-benchmark (50 backends, 200 models).
 *
 *   npm run bench [-- --quick] [-- --json] [-- --rounds N] [-- --round-seconds S]
 *                 [-- --log-level warn] [-- --baseline DIR] [-- --cpu-only] [-- --sessions] [-- --state] [-- --fleet]
 *
 * --sessions runs only the sticky-sessions comparison (scripts/bench/sessions.ts): the
 * second-turn time to first token with session affinity against round robin, in process.
 *
 * --fleet runs only the fleet comparison (scripts/bench/fleet.ts): a team's day on three
 * Ollama boxes that load, evict and expire models, replayed on a simulated clock with fleet
 * management off and on: cold loads and p95 time to first token ([-- --days N]: days replayed;
 * [-- --hours 9-12]: only those hours of each day; [-- --scale X]: simulated ms per real ms).
 *
 * --state runs only the shared-state comparison (scripts/bench/state.ts): `[state] url` on a
 * redis-server against embedded state, c=1 latency and CPU per request; a full run ends
 * with it when redis-server is installed.
 *
 * --baseline DIR adds a second Nexus (another checkout, e.g. the commit before a change)
 * to the CPU rounds, alternating with the others, for before/after figures in one sitting.
 * --cpu-only runs just the c=64 rounds (with more of them, a small difference shows);
 * --dialects adds the translated dialects to them (a full run always has them).
 * Needs `wrk` (Debian package) and Linux (/proc). Every process runs on 127.0.0.1 and is
 * stopped at the end.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { freePort } from "../emulators/ports.ts"
import { emulatorCommand } from "./bench/emulator.ts"
import { cpuMicros, MB, median, memoryOf, rssBytes, sampleRss } from "./bench/proc.ts"
import { benchRouting } from "./bench/routing.ts"
import { dialectLoads } from "./bench/dialects.ts"
import { benchSessions, printSessions } from "./bench/sessions.ts"
import { benchFleet, fleetFlags, printFleet } from "./bench/fleet.ts"
import { benchState, printState, stateBenchAvailable } from "./bench/state.ts"
import { wrk, type WrkResult } from "./bench/wrk.ts"

const ROOT = new URL("..", import.meta.url).pathname
const { values: flags } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    quick: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    rounds: { type: "string" },
    "round-seconds": { type: "string" },
    "log-level": { type: "string", default: "info" },
    baseline: { type: "string" },
    "cpu-only": { type: "boolean", default: false },
    sessions: { type: "boolean", default: false },
    state: { type: "boolean", default: false },
    dialects: { type: "boolean", default: false },
    fleet: { type: "boolean", default: false },
    days: { type: "string" },
    hours: { type: "string" },
    scale: { type: "string" },
  },
})
const quick = flags.quick!
const cpuOnly = flags["cpu-only"]!
const asJson = flags.json!
const LATENCY_SECONDS = quick ? 2 : 5
const ROUNDS = Math.max(5, Number(flags.rounds ?? 5))
const ROUND_SECONDS = Number(flags["round-seconds"] ?? (quick ? 1 : 3))
const STREAM_COUNTS = quick ? [100] : [100, 500]
const BIG_STREAMS = 1000
/** Each stream count is run this often; the run with the median TTFT p50 is reported. */
const STREAM_RUNS = quick ? 1 : 3
const LOG_LEVEL = flags["log-level"]!
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
process.on("exit", cleanup)
process.on("SIGINT", () => {
  cleanup()
  process.exit(130)
})

interface StreamResult {
  ttftP50: number
  ttftP99: number
  lostFrames: number
  badDone: number
  outOfOrder: number
  errors: number
}

/** The run whose TTFT p50 is the median; every run's problems are added to it. */
function medianRun(runs: StreamResult[]): StreamResult {
  const sorted = [...runs].sort((a, b) => a.ttftP50 - b.ttftP50)
  const mid = sorted[sorted.length >> 1]!
  const sum = (k: "lostFrames" | "badDone" | "outOfOrder" | "errors") => runs.reduce((n, r) => n + r[k], 0)
  return { ...mid, lostFrames: sum("lostFrames"), badDone: sum("badDone"), outOfOrder: sum("outOfOrder"), errors: sum("errors") }
}

async function streams(base: string, model: string, n: number): Promise<StreamResult> {
  const p = Bun.spawn([process.execPath, join(ROOT, "scripts/bench/streams.ts"), base, model, String(n), "66"], {
    env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: "8192" },
    stdout: "pipe",
  })
  return JSON.parse(await new Response(p.stdout).text())
}

/** (nexus - direct) / (floor - direct); NaN when the floor's own addition is lost in the noise. */
function addedRatio(nexus: number, floor: number, direct: number): number {
  return floor - direct > 0.01 ? (nexus - direct) / (floor - direct) : Number.NaN
}

const streamProblems = (s: StreamResult) => s.lostFrames + s.badDone + s.outOfOrder + s.errors

const fmt = (v: number, unit = "", digits?: number) => (Number.isFinite(v) ? `${v.toFixed(digits ?? (v < 10 ? 2 : 0))}${unit}` : "n/a")
const mb = (bytes: number | undefined) => (bytes === undefined ? "–" : `${(bytes / MB).toFixed(1)} MB`)
const mark = (ok: boolean) => (ok ? "PASS" : "MISS")
function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
  console.log(line(head))
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`)
  for (const r of rows) console.log(line(r))
  console.log("")
}

if (flags.sessions) {
  const report = await benchSessions()
  if (asJson) console.log(JSON.stringify({ sessions: report }, null, 2))
  else printSessions(report)
  process.exit(0)
}

if (flags.fleet) {
  const report = await benchFleet({ ...fleetFlags(flags.days ?? (quick ? "2" : undefined), flags.hours, flags.scale), log })
  if (asJson) console.log(JSON.stringify({ fleet: report }, null, 2))
  else printFleet(report)
  process.exit(0)
}

if (flags.state) {
  if (!stateBenchAvailable()) {
    console.error("the shared-state comparison needs redis-server and wrk: apt-get install -y redis-server wrk")
    process.exit(1)
  }
  const report = await benchState({ quick, log: (line) => !asJson && console.error(line) })
  if (asJson) console.log(JSON.stringify({ state: report }, null, 2))
  else printState(report)
  process.exit(0)
}

if (!Bun.which("wrk")) {
  console.error("wrk is needed for the non-streaming runs: apt-get install -y wrk")
  process.exit(1)
}
if (process.platform !== "linux") {
  console.error("the bench reads CPU time and memory from /proc: Linux only")
  process.exit(1)
}

const dir = mkdtempSync(join(tmpdir(), "nexus-bench-"))
const luaPath = join(dir, "post.lua")
writeFileSync(
  luaPath,
  `wrk.method = "POST"\nwrk.body = '{"model":"fast","messages":[{"role":"user","content":"hello there"}],"stream":false}'\nwrk.headers["Content-Type"] = "application/json"\n`
)

function nexusConfig(port: number, fast: string, paced: string): string {
  const path = join(dir, `nexus-${port}.toml`)
  writeFileSync(
    path,
    `[server]\nhost = "127.0.0.1"\nport = ${port}\n[logging]\nlevel = "${LOG_LEVEL}"\n[discovery]\nenabled = false\n[[backends]]\nname = "fast"\nurl = "${fast}"\ntype = "vllm"\n[[backends]]\nname = "paced"\nurl = "${paced}"\ntype = "vllm"\n`
  )
  return path
}

/** One server the load is aimed at: `pid` is the process whose CPU and memory count. */
interface Target {
  name: string
  fast: string
  paced: string
  pid: number
  /** The process behind `paced`, when it is not `pid` (the floor runs one per upstream). */
  pacedPid?: number
  /** The c=64 load, when not the OpenAI chat on `/v1/chat/completions`. */
  load?: { path: string; lua: string }
}

interface Round {
  cpuUsPerRequest: number
  wrk: WrkResult
}

try {
  const fastPort = freePort()
  const pacedPort = freePort()
  const fastEmu = spawn(emulatorCommand({ kind: "vllm", port: fastPort, models: ["fast"], chunks: 8 }))
  spawn(emulatorCommand({ kind: "vllm", port: pacedPort, models: ["paced"], chunks: 64, latencyMs: 20, chunkDelayMs: 5 }))
  const fast = `http://127.0.0.1:${fastPort}`
  const paced = `http://127.0.0.1:${pacedPort}`
  await waitFor(`${fast}/health`)
  await waitFor(`${paced}/health`)

  const floorFast = freePort()
  const floorPaced = freePort()
  const floorFastProc = spawn([process.execPath, join(ROOT, "scripts/bench/floor.ts"), String(floorFast), fast], { BUN_CONFIG_MAX_HTTP_REQUESTS: "8192" })
  const floorPacedProc = spawn([process.execPath, join(ROOT, "scripts/bench/floor.ts"), String(floorPaced), paced], { BUN_CONFIG_MAX_HTTP_REQUESTS: "8192" })

  // `nexus serve` re-executes itself in place (same PID) to raise Bun's fetch cap.
  const startNexus = (root: string) => {
    const port = freePort()
    const config = nexusConfig(port, fast, paced)
    const proc = spawn([process.execPath, join(root, "src/main.ts"), "serve", "--config", config], { NEXUS_DATA_DIR: join(dir, `state-${port}`) })
    return { url: `http://127.0.0.1:${port}`, proc }
  }
  const nexus = startNexus(ROOT)
  const baseline = flags.baseline ? startNexus(flags.baseline) : undefined
  await waitFor(`http://127.0.0.1:${floorFast}/health`)
  await waitFor(`http://127.0.0.1:${floorPaced}/health`)
  for (const n of [nexus, baseline]) {
    if (n) await waitFor(`${n.url}/health`, async (r) => ((await r.json()) as { models: number }).models >= 2)
  }

  const direct: Target = { name: "direct", fast, paced, pid: fastEmu.pid }
  const floor: Target = { name: "floor", fast: `http://127.0.0.1:${floorFast}`, paced: `http://127.0.0.1:${floorPaced}`, pid: floorFastProc.pid, pacedPid: floorPacedProc.pid }
  const nx: Target = { name: "nexus", fast: nexus.url, paced: nexus.url, pid: nexus.proc.pid }
  const base: Target | undefined = baseline && { name: "nexus@baseline", fast: baseline.url, paced: baseline.url, pid: baseline.proc.pid }
  const paths = [direct, floor, nx]
  const translated: Target[] = !cpuOnly || flags.dialects ? dialectLoads(dir, "fast").map((l) => ({ ...nx, name: l.name, load: l })) : []
  const cpuPaths = [...(cpuOnly ? [floor, nx] : paths), ...(base ? [base] : []), ...translated]
  /** Where a path's c=64 load goes, and its wrk script. */
  const c64Load = (p: Target): [string, string] => (p.load ? [`${p.fast}${p.load.path}`, p.load.lua] : [`${p.fast}/v1/chat/completions`, luaPath])

  // Idle: started, probed once, nothing served yet.
  await Bun.sleep(1000)
  const idleRss: Record<string, number> = {}
  const idleMemory = memoryOf(nx.pid)
  for (const t of [nx, ...(base ? [base] : [])]) idleRss[t.name] = rssBytes(t.pid)

  const c1: Record<string, WrkResult> = {}
  for (const p of cpuOnly ? [] : paths) {
    log(`${p.name}: c=1 ...`)
    // Warm-up, the same for every path: the JIT compiles a path's code in its first
    // seconds of traffic, and those one-off pauses are not the steady-state tail.
    wrk(`${p.fast}/v1/chat/completions`, 64, quick ? 1 : 3, luaPath)
    wrk(`${p.fast}/v1/chat/completions`, 1, 1, luaPath)
    c1[p.name] = wrk(`${p.fast}/v1/chat/completions`, 1, LATENCY_SECONDS, luaPath)
  }

  log(`c=64: ${ROUNDS} alternating rounds of ${ROUND_SECONDS} s (${cpuPaths.map((p) => p.name).join(", ")}) ...`)
  for (const p of cpuPaths) {
    const [url, script] = c64Load(p)
    wrk(url, 64, 1, script)
  }
  const rounds: Record<string, Round[]> = Object.fromEntries(cpuPaths.map((p) => [p.name, []]))
  for (let r = 0; r < ROUNDS; r++) {
    for (const p of cpuPaths) {
      const before = cpuMicros(p.pid)
      const [url, script] = c64Load(p)
      const w = wrk(url, 64, ROUND_SECONDS, script)
      const used = cpuMicros(p.pid) - before
      rounds[p.name]!.push({ cpuUsPerRequest: used / w.requests, wrk: w })
    }
  }
  const c64 = Object.fromEntries(
    cpuPaths.map((p) => {
      const rs = rounds[p.name]!
      return [
        p.name,
        {
          cpuUsPerRequest: median(rs.map((x) => x.cpuUsPerRequest)),
          rps: median(rs.map((x) => x.wrk.rps)),
          p99Ms: median(rs.map((x) => x.wrk.p99Ms)),
          failed: rs.reduce((a, x) => a + x.wrk.failed, 0),
        },
      ]
    })
  ) as Record<string, { cpuUsPerRequest: number; rps: number; p99Ms: number; failed: number }>
  const cpuRatio = c64.nexus!.cpuUsPerRequest / c64.floor!.cpuUsPerRequest
  const cpuRatioByRound = rounds.nexus!.map((r, i) => r.cpuUsPerRequest / rounds.floor![i]!.cpuUsPerRequest)
  const printRounds = () => {
    console.log("CPU per request at c=64, each round in the order run (user + system CPU of the server process / requests served):")
    table(
      ["round", ...cpuPaths.map((p) => `${p.name} µs/req`), "nexus / floor", ...cpuPaths.map((p) => `${p.name} req/s`)],
      [
        ...Array.from({ length: ROUNDS }, (_, i) => [
          String(i + 1),
          ...cpuPaths.map((p) => fmt(rounds[p.name]![i]!.cpuUsPerRequest, "", 1)),
          fmt(cpuRatioByRound[i]!, "", 2),
          ...cpuPaths.map((p) => fmt(rounds[p.name]![i]!.wrk.rps)),
        ]),
        ["median", ...cpuPaths.map((p) => fmt(c64[p.name]!.cpuUsPerRequest, "", 1)), fmt(cpuRatio, "", 2), ...cpuPaths.map((p) => fmt(c64[p.name]!.rps))],
      ]
    )
  }
  const printCpuLines = () => {
    const failed = cpuPaths.filter((p) => c64[p.name]!.failed > 0)
    if (failed.length) console.log(`WARNING: non-2xx answers or socket errors in the c=64 rounds of ${failed.map((p) => `${p.name} (${c64[p.name]!.failed})`).join(", ")}`)
    console.log(`CPU per request c=64, nexus / floor: ${cpuRatio.toFixed(2)} (target <= 1.25) ${mark(cpuRatio <= 1.25)}`)
    if (base) {
      const pairs = rounds.nexus!.map((r, i) => r.cpuUsPerRequest / rounds[base.name]![i]!.cpuUsPerRequest)
      console.log(`CPU per request c=64, ${base.name} / floor: ${(c64[base.name]!.cpuUsPerRequest / c64.floor!.cpuUsPerRequest).toFixed(2)}; nexus / ${base.name}: ${(c64.nexus!.cpuUsPerRequest / c64[base.name]!.cpuUsPerRequest).toFixed(2)} (ratio of medians), ${median(pairs).toFixed(2)} (median of per-round ratios)`)
    }
    for (const t of translated) {
      const pairs = rounds[t.name]!.map((r, i) => r.cpuUsPerRequest / rounds.nexus![i]!.cpuUsPerRequest)
      const r = median(pairs)
      console.log(`CPU per request c=64, ${t.name} (translated) / pass-through: ${r.toFixed(2)} (median of per-round ratios; target <= 1.30) ${mark(r <= 1.3)}`)
    }
  }
  if (cpuOnly) {
    if (asJson) console.log(JSON.stringify({ logLevel: LOG_LEVEL, rounds, c64, idleRss }, null, 2))
    else {
      console.log(`Nexus log level: ${LOG_LEVEL} (to /dev/null). ${ROUNDS} alternating rounds of ${ROUND_SECONDS} s at c=64.\n`)
      printRounds()
      printCpuLines()
    }
    process.exit(0)
  }

  const streamRuns: Record<string, Record<number, StreamResult>> = {}
  for (const p of paths) {
    streamRuns[p.name] = {}
    // Warm-up, as for c=1: the streaming code is compiled in its first runs.
    for (let i = 0; i < 3; i++) await streams(p.paced, "paced", 100)
    for (const n of STREAM_COUNTS) {
      log(`${p.name}: ${n} streams (${STREAM_RUNS} runs) ...`)
      const runs: StreamResult[] = []
      for (let i = 0; i < STREAM_RUNS; i++) runs.push(await streams(p.paced, "paced", n))
      streamRuns[p.name]![n] = medianRun(runs)
    }
  }

  const big: Record<string, { result: StreamResult; peakRss: number }> = {}
  for (const p of [floor, nx]) {
    log(`${p.name}: ${BIG_STREAMS} streams, sampling memory ...`)
    const sampler = sampleRss(p.pacedPid ?? p.pid, 50)
    const result = await streams(p.paced, "paced", BIG_STREAMS)
    big[p.name] = { result, peakRss: sampler.stop().peak }
  }
  await Bun.sleep(2000)
  const afterRss = rssBytes(nx.pid)

  const routing = benchRouting(quick ? 20_000 : 100_000)

  const d = c1.direct!
  const f = c1.floor!
  const n = c1.nexus!
  const ratios = {
    cpuPerRequestVsFloor: cpuRatio,
    cpuPerRequestVsFloorByRound: cpuRatioByRound,
    baselineCpuPerRequestVsFloor: base ? c64[base.name]!.cpuUsPerRequest / c64.floor!.cpuUsPerRequest : undefined,
    throughputVsFloor: c64.nexus!.rps / c64.floor!.rps,
    addedLatencyP50VsFloor: addedRatio(n.p50Ms, f.p50Ms, d.p50Ms),
    addedLatencyP99VsFloor: addedRatio(n.p99Ms, f.p99Ms, d.p99Ms),
    ttftDelta: Object.fromEntries(STREAM_COUNTS.map((c) => [c, streamRuns.nexus![c]!.ttftP50 - streamRuns.floor![c]!.ttftP50])),
    afterLoadRssVsIdle: afterRss / idleRss.nexus!,
  }
  const memory = { idleRss, idleNexusAnon: idleMemory.anon, idleNexusFile: idleMemory.file, peakRss1000Streams: Object.fromEntries(Object.entries(big).map(([k, v]) => [k, v.peakRss])), afterLoadRss: afterRss }

  const state = stateBenchAvailable() ? await benchState({ quick, log }) : undefined

  if (asJson) {
    console.log(JSON.stringify({ logLevel: LOG_LEVEL, c1, rounds, c64, streams: streamRuns, streams1000: big, memory, ratios, routing, state }, null, 2))
  } else {

    console.log(`Nexus log level: ${LOG_LEVEL} (to /dev/null). c=64 figures: median of ${ROUNDS} alternating rounds of ${ROUND_SECONDS} s.\n`)
    table(
      ["path", "c=1 p50", "c=1 p99", "c=64 req/s", "c=64 p99", "CPU/req c=64", ...STREAM_COUNTS.map((c) => `${c} streams TTFT p50`), `${BIG_STREAMS} streams TTFT p50`, "stream problems"],
      paths.map((p) => {
        const s = streamRuns[p.name]!
        const b = big[p.name]?.result
        const problems = STREAM_COUNTS.reduce((a, c) => a + streamProblems(s[c]!), 0) + (b ? streamProblems(b) : 0)
        return [
          p.name,
          fmt(c1[p.name]!.p50Ms, " ms"),
          fmt(c1[p.name]!.p99Ms, " ms"),
          fmt(c64[p.name]!.rps),
          fmt(c64[p.name]!.p99Ms, " ms"),
          fmt(c64[p.name]!.cpuUsPerRequest, " µs", 1),
          ...STREAM_COUNTS.map((c) => fmt(s[c]!.ttftP50, " ms")),
          b ? fmt(b.ttftP50, " ms") : "–",
          String(problems),
        ]
      })
    )

    printRounds()

    console.log("Memory (resident set):")
    table(
      ["process", "idle", `peak during ${BIG_STREAMS} streams`, "2 s after the load"],
      [
        ["nexus", mb(idleRss.nexus), mb(big.nexus!.peakRss), mb(afterRss)],
        ["floor (paced)", "–", mb(big.floor!.peakRss), "–"],
        ...(base ? [[base.name, mb(idleRss[base.name]), "–", "–"]] : []),
      ]
    )

    printCpuLines()
    console.log(`throughput c=64, nexus / floor: ${ratios.throughputVsFloor.toFixed(2)} (target >= 0.80) ${mark(ratios.throughputVsFloor >= 0.8)}`)
    const added = (what: string, r: number, target: number) =>
      console.log(
        `added latency c=1 ${what}, (nexus - direct) / (floor - direct): ${
          Number.isFinite(r) ? `${r.toFixed(2)} (target <= ${target}) ${mark(r <= target)}` : "n/a: the floor added nothing measurable over direct in this run (noise); run again"
        }`
      )
    added("p50", ratios.addedLatencyP50VsFloor, 1.25)
    added("p99", ratios.addedLatencyP99VsFloor, 1.5)
    for (const c of STREAM_COUNTS) {
      const delta = ratios.ttftDelta[c]!
      const target = c <= 100 ? 2 : 10
      console.log(`TTFT p50 at ${c} streams, nexus - floor: ${delta.toFixed(2)} ms (target <= +${target} ms) ${mark(delta <= target)}`)
    }
    const bigProblems = streamProblems(big.nexus!.result)
    console.log(`${BIG_STREAMS} concurrent streams through nexus: ${bigProblems === 0 ? "every frame delivered in order, one [DONE] each" : `${bigProblems} streams with lost, reordered or extra frames or errors`} ${mark(bigProblems === 0)}`)
    console.log(`idle RSS, nexus: ${mb(idleRss.nexus)} (target <= 50 MB) ${mark(idleRss.nexus! <= 50 * MB)}`)
    console.log(`  of which its own memory (heap, stacks): ${mb(idleMemory.anon)}; mapped file pages, mostly the Bun executable's: ${mb(idleMemory.file)}`)
    console.log(`RSS during ${BIG_STREAMS} streams, nexus: ${mb(big.nexus!.peakRss)} (target <= 200 MB) ${mark(big.nexus!.peakRss <= 200 * MB)}`)
    console.log(`RSS 2 s after the load / idle, nexus: ${ratios.afterLoadRssVsIdle.toFixed(2)} (the soak checks the return to the warmed-up level)`)
    console.log(`routing decision (${routing.backends} backends, ${routing.models} models): mean ${(routing.meanNs / 1000).toFixed(2)} µs, p99 ${(routing.p99Ns / 1000).toFixed(2)} µs (target <= 20 µs) ${mark(routing.meanNs <= 20_000)}`)
    if (state) printState(state)
  }
} finally {
  cleanup()
}
