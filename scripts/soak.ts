/**
 * Soak test: does every counter return to zero, and does memory come back, after a long
 * run of the traffic that leaks in other gateways?
 *
 *   npm run soak -- --minutes N [--clients 40]       (fractions allowed: --minutes 0.5)
 *
 * Nexus runs as `nexus serve` in front of three emulated vLLM servers serving one model:
 * `a`, killed (SIGKILL) and started again every minute; `b`, always up; `c`, added to and
 * removed from the configuration by a reload every few minutes (SIGHUP and
 * POST /v1/admin/reload in turn). Clients loop over: streams read to the end, plain
 * requests, streams abandoned before the response headers arrive, streams abandoned after
 * a random number of frames, and plain requests abandoned before the answer.
 *
 * RSS is sampled every second. After a warm-up the load pauses, in-flight work drains,
 * and the quiet RSS is taken as the reference; at the end the same is done again.
 * The run fails (exit 1) when, at the end:
 *   - any in-flight counter is not 0: /v1/stats per backend, nexus_backend_in_flight in
 *     /metrics, or the emulators' own count (an upstream request Nexus did not abort);
 *   - quiet RSS is more than 10% above the reference;
 *   - Nexus died, or no request succeeded.
 * Client-visible outcomes are counted and printed, not judged: a stream cut by the
 * backend's death carries an error event and [DONE] by design.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { freePort } from "../emulators/ports.ts"
import { emulatorCommand, type EmulatorSpec } from "./bench/emulator.ts"
import { MB, median, rssBytes } from "./bench/proc.ts"

const ROOT = new URL("..", import.meta.url).pathname
const { values: flags } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    minutes: { type: "string", default: "2" },
    clients: { type: "string", default: "40" },
  },
})
const MINUTES = Number(flags.minutes)
const CLIENTS = Number(flags.clients)
if (!(MINUTES > 0) || !(CLIENTS > 0)) {
  console.error("usage: npm run soak -- --minutes N [--clients C]   (N may be a fraction, e.g. 0.5)")
  process.exit(2)
}
if (process.platform !== "linux") {
  console.error("the soak reads memory from /proc: Linux only")
  process.exit(2)
}

const DURATION_MS = MINUTES * 60_000
const WARMUP_MS = Math.min(120_000, Math.max(15_000, DURATION_MS * 0.15))
const RESTART_EVERY_MS = Math.min(60_000, DURATION_MS / 2)
const RELOAD_EVERY_MS = Math.min(180_000, Math.max(20_000, DURATION_MS / 3))
const RSS_TOLERANCE = 1.1
const MODEL = "soak"
/** The emulators wait this long before answering: aborts inside it land before the headers. */
const LATENCY_MS = 100
const CHUNKS = 32

const dir = mkdtempSync(join(tmpdir(), "nexus-soak-"))
const children = new Set<ReturnType<typeof Bun.spawn>>()
const cleanup = () => {
  for (const c of children) c.kill("SIGKILL")
}
process.on("exit", cleanup)
process.on("SIGINT", () => process.exit(130))

function spawn(cmd: string[], opts: { env?: Record<string, string>; log?: string } = {}): ReturnType<typeof Bun.spawn> {
  const p = Bun.spawn(cmd, {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdout: "ignore",
    stderr: opts.log ? Bun.file(opts.log) : "ignore",
  })
  children.add(p)
  void p.exited.then(() => children.delete(p))
  return p
}

async function waitFor(url: string, ok: (r: Response) => Promise<boolean> = async (r) => r.ok, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    const r = await fetch(url).catch(() => undefined)
    if (r && (await ok(r).catch(() => false))) return
    await Bun.sleep(25)
  }
  throw new Error(`not ready: ${url}`)
}

const elapsed = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s`

// ---- backends and Nexus ---------------------------------------------------------------

const spec = (port: number): EmulatorSpec => ({ kind: "vllm", port, models: [MODEL], chunks: CHUNKS, latencyMs: LATENCY_MS, chunkDelayMs: 10 })
const ports = { a: freePort(), b: freePort(), c: freePort() }
const emulators: Record<keyof typeof ports, ReturnType<typeof Bun.spawn>> = {
  a: spawn(emulatorCommand(spec(ports.a))),
  b: spawn(emulatorCommand(spec(ports.b))),
  c: spawn(emulatorCommand(spec(ports.c))),
}
for (const port of Object.values(ports)) await waitFor(`http://127.0.0.1:${port}/health`)

const nexusPort = freePort()
const nexusUrl = `http://127.0.0.1:${nexusPort}`
const configPath = join(dir, "nexus.toml")
const nexusLog = join(dir, "nexus.log")
function writeConfig(withC: boolean, reloads: number): void {
  const backend = (name: string, port: number, priority: number) =>
    `[[backends]]\nname = "${name}"\nurl = "http://127.0.0.1:${port}"\ntype = "vllm"\npriority = ${priority}\n`
  writeFileSync(
    configPath,
    [
      `[server]\nhost = "127.0.0.1"\nport = ${nexusPort}\n`,
      `[logging]\nlevel = "warn"\n`,
      `[discovery]\nenabled = false\n`,
      `[health_check]\ninterval_seconds = 5\ntimeout_seconds = 2\n`,
      backend("a", ports.a, 1),
      // A change on every reload, so each one has something to apply.
      backend("b", ports.b, 1 + (reloads % 2)),
      withC ? backend("c", ports.c, 1) : "",
    ].join("\n")
  )
}
writeConfig(true, 0)
const nexus = spawn([process.execPath, join(ROOT, "src/main.ts"), "serve", "--config", configPath], {
  env: { NEXUS_DATA_DIR: join(dir, "state") },
  log: nexusLog,
})
await waitFor(`${nexusUrl}/health`, async (r) => ((await r.json()) as { backends: { healthy: number } }).backends.healthy >= 3)

// ---- clients ----------------------------------------------------------------------------

type Outcome =
  | "stream completed"
  | "plain completed"
  | "aborted before headers"
  | "aborted mid-stream"
  | "aborted plain request"
  | "stream cut by a backend (error event)"
  | "unexpected"

const outcomes = new Map<string, number>()
const unexpected: string[] = []
const count = (o: Outcome | `HTTP ${number}`, detail?: string) => {
  outcomes.set(o, (outcomes.get(o) ?? 0) + 1)
  if (o === "unexpected" && detail && unexpected.length < 10) unexpected.push(detail)
}

const rand = (lo: number, hi: number) => lo + Math.random() * (hi - lo)
const body = (stream: boolean) =>
  JSON.stringify({ model: MODEL, stream, messages: [{ role: "user", content: `soak ${Math.random()}` }], ...(stream && Math.random() < 0.5 ? { stream_options: { include_usage: true } } : {}) })

/** One request of a random kind; resolves when it is over, however it ended. */
async function oneRequest(): Promise<void> {
  const roll = Math.random()
  const stream = roll < 0.75
  const ctrl = new AbortController()
  // 0.00-0.15: abort before the headers; 0.15-0.40: abort after a few frames;
  // 0.40-0.75: read the stream to the end; 0.75-0.90: plain; 0.90-1.00: plain, abandoned.
  const abortEarly = roll < 0.15 || roll >= 0.9
  const abortAfterFrames = roll >= 0.15 && roll < 0.4 ? Math.floor(rand(0, CHUNKS)) : -1
  let headers = false
  const timer = abortEarly ? setTimeout(() => ctrl.abort(), rand(0, LATENCY_MS * 0.9)) : undefined
  try {
    const res = await fetch(`${nexusUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: body(stream),
      signal: ctrl.signal,
    })
    headers = true
    if (res.status !== 200) {
      await res.text().catch(() => "")
      count(`HTTP ${res.status}`)
      return
    }
    if (!stream) {
      const json = (await res.json()) as { choices?: unknown[] }
      if (Array.isArray(json.choices)) count("plain completed")
      else count("unexpected", `plain answer without choices: ${JSON.stringify(json).slice(0, 200)}`)
      return
    }
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let buf = ""
    let frames = 0
    let done = 0
    let errorEvent = false
    for (;;) {
      const { value, done: end } = await reader.read()
      if (end) break
      buf += decoder.decode(value, { stream: true })
      let cut: number
      while ((cut = buf.indexOf("\n\n")) !== -1) {
        const event = buf.slice(0, cut)
        buf = buf.slice(cut + 2)
        if (!event.startsWith("data:")) continue
        if (event === "data: [DONE]") done++
        else if (event.includes('"error"')) errorEvent = true
        else frames++
      }
      if (abortAfterFrames >= 0 && frames >= abortAfterFrames) {
        ctrl.abort()
        count("aborted mid-stream")
        return
      }
    }
    if (errorEvent && done === 1) count("stream cut by a backend (error event)")
    else if (done === 1 && !errorEvent) count("stream completed")
    else count("unexpected", `stream ended with ${frames} frames, ${done} [DONE], error event: ${errorEvent}`)
  } catch (err) {
    if (ctrl.signal.aborted) count(headers ? (stream ? "aborted mid-stream" : "aborted plain request") : stream ? "aborted before headers" : "aborted plain request")
    else count("unexpected", `${stream ? "stream" : "plain"}: ${(err as Error).message}`)
  } finally {
    clearTimeout(timer)
  }
}

let paused = false
let stopping = false
let active = 0
async function client(): Promise<void> {
  while (!stopping) {
    if (paused) {
      await Bun.sleep(50)
      continue
    }
    active++
    await oneRequest()
    active--
    await Bun.sleep(rand(0, 20))
  }
}

// ---- what Nexus and the backends say is in flight --------------------------------------

interface InFlight {
  stats: Record<string, number>
  metrics: Record<string, number>
  emulators: Record<string, number>
}

async function inFlight(): Promise<InFlight> {
  const stats = (await (await fetch(`${nexusUrl}/v1/stats`)).json()) as { backends: { name: string; in_flight: number }[] }
  const text = await (await fetch(`${nexusUrl}/metrics`)).text()
  const metrics: Record<string, number> = {}
  for (const m of text.matchAll(/^nexus_backend_in_flight\{backend="([^"]*)"\} (\S+)$/gm)) metrics[m[1]!] = Number(m[2])
  const emulators: Record<string, number> = {}
  for (const [name, port] of Object.entries(ports)) {
    const load = await fetch(`http://127.0.0.1:${port}/load`).then((r) => r.json() as Promise<{ server_load: number }>).catch(() => undefined)
    if (load) emulators[name] = load.server_load
  }
  return { stats: Object.fromEntries(stats.backends.map((b) => [b.name, b.in_flight])), metrics, emulators }
}

const allZero = (f: InFlight) => [f.stats, f.metrics, f.emulators].every((m) => Object.values(m).every((n) => n === 0))

/** Stop the load, wait for in-flight work to drain, then take the quiet RSS (the lowest of 5 s of samples). */
async function quiet(): Promise<{ rss: number; inFlight: InFlight; drainedMs: number }> {
  paused = true
  const t0 = performance.now()
  while (active > 0 && performance.now() - t0 < 15_000) await Bun.sleep(50)
  let f = await inFlight()
  while (!allZero(f) && performance.now() - t0 < 15_000) {
    await Bun.sleep(100)
    f = await inFlight()
  }
  const drainedMs = performance.now() - t0
  const samples: number[] = []
  for (let i = 0; i < 20; i++) {
    await Bun.sleep(250)
    samples.push(rssBytes(nexus.pid))
  }
  return { rss: Math.min(...samples), inFlight: f, drainedMs }
}

// ---- the run ----------------------------------------------------------------------------

const t0 = performance.now()
const rssTimeline: { t: number; rss: number }[] = []
const rssTimer = setInterval(() => {
  try {
    rssTimeline.push({ t: performance.now() - t0, rss: rssBytes(nexus.pid) })
  } catch {
    // Nexus is gone: reported at the end.
  }
}, 1000)

let restarts = 0
let restartFailures = 0
let restarting: Promise<void> = Promise.resolve()
const restartTimer = setInterval(() => {
  restarting = (async () => {
    emulators.a.kill("SIGKILL")
    await emulators.a.exited
    await Bun.sleep(500)
    emulators.a = spawn(emulatorCommand(spec(ports.a)))
    try {
      await waitFor(`http://127.0.0.1:${ports.a}/health`)
      restarts++
      console.log(`${elapsed(t0)}  backend a killed and started again`)
    } catch {
      restartFailures++
    }
  })()
}, RESTART_EVERY_MS)

let reloads = 0
let reloadFailures = 0
let withC = true
let reloading: Promise<void> = Promise.resolve()
const reloadTimer = setInterval(() => {
  reloading = (async () => {
    withC = !withC
    writeConfig(withC, reloads + 1)
    const how = reloads % 2 === 0 ? "SIGHUP" : "POST /v1/admin/reload"
    try {
      if (how === "SIGHUP") nexus.kill("SIGHUP")
      else {
        const r = await fetch(`${nexusUrl}/v1/admin/reload`, { method: "POST" })
        if (!r.ok) throw new Error(`HTTP ${r.status}: ${await r.text()}`)
      }
      // Applied when the backend list shows c present or gone, as written.
      await waitFor(`${nexusUrl}/v1/backends`, async (r) => ((await r.json()) as { backends: { name: string }[] }).backends.some((b) => b.name === "c") === withC, 200)
      reloads++
      console.log(`${elapsed(t0)}  configuration reloaded (${how}): backend c ${withC ? "added" : "removed"}`)
    } catch (err) {
      reloadFailures++
      console.log(`${elapsed(t0)}  reload (${how}) not applied: ${(err as Error).message}`)
    }
  })()
}, RELOAD_EVERY_MS)

console.log(
  `soak: ${MINUTES} min, ${CLIENTS} clients against ${nexusUrl}; warm-up ${(WARMUP_MS / 1000).toFixed(0)} s, backend a restarted every ${(RESTART_EVERY_MS / 1000).toFixed(0)} s, reload every ${(RELOAD_EVERY_MS / 1000).toFixed(0)} s; Nexus log: ${nexusLog}`
)
const clients = Array.from({ length: CLIENTS }, () => client())

await Bun.sleep(WARMUP_MS)
const warm = await quiet()
console.log(`${elapsed(t0)}  warm-up done: quiet RSS ${(warm.rss / MB).toFixed(1)} MB (drained in ${warm.drainedMs.toFixed(0)} ms)`)
paused = false

await Bun.sleep(Math.max(0, DURATION_MS - (performance.now() - t0)))
clearInterval(restartTimer)
clearInterval(reloadTimer)
// A restart under way finishes first: every backend is up to say what it has in flight.
await restarting
await reloading
const end = await quiet()
stopping = true
await Promise.all(clients)
clearInterval(rssTimer)

// ---- verdict ----------------------------------------------------------------------------

const alive = nexus.exitCode === null && (await fetch(`${nexusUrl}/health`).then((r) => r.ok).catch(() => false))
const total = [...outcomes.values()].reduce((a, b) => a + b, 0)
const succeeded = (outcomes.get("stream completed") ?? 0) + (outcomes.get("plain completed") ?? 0)
const peak = Math.max(...rssTimeline.map((s) => s.rss))
const ratio = end.rss / warm.rss
const checks: [string, boolean][] = [
  [`Nexus alive at the end`, alive],
  [`requests succeeded: ${succeeded} of ${total}`, succeeded > 0],
  [`in flight at the end, /v1/stats: ${JSON.stringify(end.inFlight.stats)}`, Object.values(end.inFlight.stats).every((n) => n === 0)],
  [`in flight at the end, /metrics nexus_backend_in_flight: ${JSON.stringify(end.inFlight.metrics)}`, Object.values(end.inFlight.metrics).every((n) => n === 0)],
  [`in flight at the end, as the backends count it: ${JSON.stringify(end.inFlight.emulators)}`, Object.values(end.inFlight.emulators).every((n) => n === 0)],
  [
    `quiet RSS at the end ${(end.rss / MB).toFixed(1)} MB vs ${(warm.rss / MB).toFixed(1)} MB after warm-up: ${ratio.toFixed(3)} (limit ${RSS_TOLERANCE})`,
    ratio <= RSS_TOLERANCE,
  ],
]

console.log("")
console.log(`requests: ${total} in ${((performance.now() - t0) / 60_000).toFixed(1)} min`)
for (const [k, n] of [...outcomes].sort((x, y) => y[1] - x[1])) console.log(`  ${String(n).padStart(7)}  ${k}`)
for (const u of unexpected) console.log(`           e.g. ${u}`)
const times = (n: number) => `${n} time${n === 1 ? "" : "s"}`
console.log(`backend a restarted ${times(restarts)}${restartFailures ? ` (${restartFailures} restarts did not come up)` : ""}; configuration reloaded ${times(reloads)}${reloadFailures ? ` (${reloadFailures} not applied)` : ""}`)
const perMinute = new Map<number, number>()
for (const s of rssTimeline) perMinute.set(Math.floor(s.t / 60_000), Math.max(perMinute.get(Math.floor(s.t / 60_000)) ?? 0, s.rss))
console.log(`RSS under load: peak ${(peak / MB).toFixed(1)} MB, median ${(median(rssTimeline.map((s) => s.rss)) / MB).toFixed(1)} MB; highest per minute: ${[...perMinute.values()].map((v) => (v / MB).toFixed(0)).join(", ")} MB`)
console.log("")
for (const [what, ok] of checks) console.log(`${ok ? "PASS" : "FAIL"}  ${what}`)
const failed = checks.some(([, ok]) => !ok)
if (failed) {
  const tail = readFileSync(nexusLog, "utf8").trim().split("\n").slice(-15).join("\n")
  console.log(`\nlast lines of the Nexus log (${nexusLog}):\n${tail}`)
}
console.log(`\nsoak ${failed ? "FAILED" : "passed"}`)
process.exit(failed ? 1 : 0)
