/**
 * Fleet management off against on, over a team's day (scripts/bench/fleet-day.ts) on
 * three emulated Ollama boxes with room for one or two models each: loads take time in
 * proportion to size, an idle model expires after Ollama's default 5 minutes, and a box
 * at its memory or OLLAMA_MAX_LOADED_MODELS evicts the least recently used idle model.
 * Nexus runs in process on a simulated clock shared with the emulators (sim-clock.ts):
 * a few days replay in minutes, and every time below is simulated time. The first days
 * are history the fleet learns demand from; the last day is measured. Reported per
 * configuration: cold loads (loads a request had to wait for, by the emulators' own
 * count), every load, and time to first token of the streamed chats (p50, p95).
 *
 *   bun scripts/bench.ts --fleet [--days N] [--json]
 */
import { defaultConfig, validateConfig } from "../../src/config/load.ts"
import { FleetSchema } from "../../src/config/schema-fleet.ts"
import { startGateway, type Gateway } from "../../src/app/gateway.ts"
import { createLogger } from "../../src/observability/log.ts"
import { startOllama } from "../../emulators/index.ts"
import type { OllamaEmulator } from "../../emulators/ollama.ts"
import { teamDay, TEAM_MODELS, type Arrival, type FleetModel } from "./fleet-day.ts"
import { simClock, type SimClock } from "./sim-clock.ts"

/** The two configurations compared: `[fleet]` as each would be written in nexus.toml. */
export const FLEET_CONFIGS = {
  /** Plain routing: Nexus leaves residency to the servers. */
  off: { enabled: false },
  /** Pre-warm from the demand seen by hour of the week, spread a busy model, unload idle extra copies. */
  on: { auto: true },
} satisfies Record<string, Record<string, unknown>>

export type FleetMode = keyof typeof FLEET_CONFIGS

const GIB = 1024 ** 3
const DAY = 86_400_000
/** The boxes: memory for models, and Ollama's default limits. */
const BOXES = [
  { name: "box-a", memoryGib: 16 },
  { name: "box-b", memoryGib: 12 },
  { name: "box-c", memoryGib: 10 },
]
const MAX_LOADED = 2
/** Ollama's default keep_alive. */
const KEEP_ALIVE_MS = 5 * 60_000
/** Disk to GPU at about 0.5 GB/s: 18 s for the 9 GiB coder. */
const LOAD_MS_PER_GIB = 2000
/** Prompt processing before the first token, and the pace of the answer, simulated ms. */
const PREFILL_MS = 200
const CHUNK_MS = 250
/** A Monday, 00:00 local time: hour-of-week schedules see weekdays in order. */
const START = new Date(2026, 0, 5).getTime()

export interface FleetBenchOptions {
  /** Days replayed; the last is measured (default 8: a week of history, then the day). */
  days?: number
  /** Simulated ms per real ms while requests run (default 50). */
  scale?: number
  seed?: number
  /** Replay only the arrivals between these hours of each day (default the whole day). */
  hours?: [number, number]
  log?: (line: string) => void
}

interface Sample {
  user: string
  kind: Arrival["kind"]
  ttftMs: number
  ok: boolean
}

export interface FleetRun {
  /** `[fleet]` as given, and the keys this build does not know yet (left out). */
  fleet: Record<string, unknown>
  unknownKeys: string[]
  requests: number
  failed: number
  /** Loads at least one request waited for (several waiting on one load count once). */
  coldLoads: number
  /** Requests that found their model cold and waited. */
  waitedRequests: number
  /** Every load, asked for or not. */
  loads: number
  /** Streamed chats, simulated ms. */
  ttft: { p50: number; p95: number; max: number; count: number }
  perUser: Record<string, { requests: number; p95: number }>
  realSeconds: number
}

export interface FleetReport {
  days: number
  /** The hours of each day replayed. */
  hours: [number, number]
  scale: number
  seed: number
  runs: Record<FleetMode, FleetRun>
  /** off / on: target >= 3 */
  coldLoadRatio: number
  /** off p95 / on p95: target >= 2 */
  p95Ratio: number
}

/** `--days N`, `--hours FROM-TO` and `--scale X` as options; a clear error for anything else. */
export function fleetFlags(days: string | undefined, hours: string | undefined, scale?: string): Pick<FleetBenchOptions, "days" | "hours" | "scale"> {
  const x = scale === undefined ? undefined : Number(scale)
  if (x !== undefined && !(x >= 1 && x <= 1000)) throw new Error(`--scale takes simulated ms per real ms from 1 to 1000, got ${JSON.stringify(scale)}`)
  const n = days === undefined ? undefined : Number(days)
  if (n !== undefined && !(Number.isInteger(n) && n >= 1 && n <= 60)) throw new Error(`--days takes a whole number of days from 1 to 60, got ${JSON.stringify(days)}`)
  const h = hours?.split("-").map((x) => (x.trim() === "" ? Number.NaN : Number(x)))
  if (h && !(h.length === 2 && h[0]! >= 0 && h[0]! < h[1]! && h[1]! <= 24)) throw new Error(`--hours takes FROM-TO, hours of the day from 0 to 24 (e.g. 9-12), got ${JSON.stringify(hours)}`)
  return { days: n, hours: h as [number, number] | undefined, scale: x }
}

export function percentile(xs: number[], p: number): number {
  if (!xs.length) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!
}

/** `[fleet]` with only the keys this build knows; the others are reported. */
function knownFleet(fleet: Record<string, unknown>): { applied: Record<string, unknown>; unknown: string[] } {
  const known = new Set(Object.keys(FleetSchema.entries))
  const applied = Object.fromEntries(Object.entries(fleet).filter(([k]) => known.has(k)))
  return { applied, unknown: Object.keys(fleet).filter((k) => !known.has(k)) }
}

async function startBoxes(clock: SimClock): Promise<OllamaEmulator[]> {
  const models = Object.values(TEAM_MODELS).map((m: FleetModel) => ({ id: m.id, loaded: false, sizeBytes: Math.round(m.gib * GIB), capabilities: m.capabilities }))
  return Promise.all(
    BOXES.map((b) =>
      startOllama({
        models,
        latencyMs: PREFILL_MS / clock.scale,
        chunks: 8,
        chunkDelayMs: CHUNK_MS / clock.scale,
        fleet: { memoryBytes: b.memoryGib * GIB, maxLoaded: MAX_LOADED, loadMsPerGb: LOAD_MS_PER_GIB, keepAliveMs: KEEP_ALIVE_MS, now: clock.now, sleep: clock.sleep },
      })
    )
  )
}

async function startNexus(fleet: Record<string, unknown>, boxes: OllamaEmulator[], clock: SimClock): Promise<Gateway> {
  const valid = validateConfig(
    {
      server: { host: "127.0.0.1" },
      discovery: { enabled: false },
      logging: { level: "silent" },
      // Probes run on the simulated clock (below), not on the real one.
      health_check: { interval_seconds: 86_400 },
      fleet,
      backends: boxes.map((e, i) => ({ name: BOXES[i]!.name, url: e.url, type: "ollama", memory_gb: BOXES[i]!.memoryGib })),
    },
    "fleet bench"
  )
  const config = { ...valid, server: { ...valid.server, port: 0 } }
  const gw = await startGateway(config, { log: createLogger({ level: "silent", format: "json" }), env: {}, persist: false, clock })
  await gw.deps.firstProbe
  // Nexus's health checks at its default interval of simulated time: what it knows of residency is as fresh as in production.
  clock.every(defaultConfig().health_check.interval_seconds * 1000, () => gw.deps.health.checkAll())
  return gw
}

/** One request; its time to first token (first content event; the whole answer for embeddings), simulated. */
async function send(url: string, a: Arrival, clock: SimClock): Promise<Sample> {
  const t0 = clock.now()
  const embed = a.kind === "embed"
  const res = await fetch(`${url}/v1/${embed ? "embeddings" : "chat/completions"}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(embed ? { model: a.model, input: ["a paragraph of the team's docs"] } : { model: a.model, stream: true, messages: [{ role: "user", content: "Refactor this function." }] }),
  }).catch(() => undefined)
  if (!res?.ok || !res.body) {
    await res?.body?.cancel()
    return { user: a.user, kind: a.kind, ttftMs: clock.now() - t0, ok: false }
  }
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let text = ""
  let ttft: number | undefined
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    text += decoder.decode(value, { stream: true })
    // Heartbeat comments may come first; the first token is the first data event.
    if (ttft === undefined && (embed || /(^|\n)data: /.test(text))) ttft = clock.now() - t0
    if (text.length > 4096) text = text.slice(-64)
  }
  return { user: a.user, kind: a.kind, ttftMs: ttft ?? clock.now() - t0, ok: ttft !== undefined }
}

interface Counters {
  coldLoads: number
  waitedRequests: number
  loads: number
}

function counters(boxes: OllamaEmulator[]): Counters {
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0)
  return boxes.reduce(
    (c, e) => ({ coldLoads: c.coldLoads + sum(e.fleet!.coldLoads), waitedRequests: c.waitedRequests + e.fleet!.waitedRequests, loads: c.loads + sum(e.fleet!.loads) }),
    { coldLoads: 0, waitedRequests: 0, loads: 0 }
  )
}

/** Send the day's arrivals at their simulated times; jump over the time when nothing is in flight. */
async function replay(url: string, arrivals: Arrival[], dayStart: number, clock: SimClock): Promise<Sample[]> {
  const samples: Sample[] = []
  const inFlight = new Set<Promise<void>>()
  for (const a of arrivals) {
    const at = dayStart + a.at
    while (clock.now() < at) {
      if (!inFlight.size) {
        await clock.advanceTo(at)
        break
      }
      await Promise.race([...inFlight, Bun.sleep((at - clock.now()) / clock.scale)])
    }
    const p: Promise<void> = send(url, a, clock).then((s) => {
      samples.push(s)
      inFlight.delete(p)
    })
    inFlight.add(p)
  }
  await Promise.all(inFlight)
  return samples
}

export async function runFleet(mode: FleetMode, opts: FleetBenchOptions = {}): Promise<FleetRun> {
  const days = Math.max(1, opts.days ?? 8)
  const [from, to] = opts.hours ?? [0, 24]
  const seed = opts.seed ?? 1
  const started = performance.now()
  const clock = simClock(START + from * 3_600_000, opts.scale ?? 50)
  const { applied, unknown } = knownFleet(FLEET_CONFIGS[mode])
  const boxes = await startBoxes(clock)
  const gw = await startNexus(applied, boxes, clock)
  try {
    let before = counters(boxes)
    let samples: Sample[] = []
    for (let day = 0; day < days; day++) {
      const arrivals = teamDay(seed, day).filter((a) => a.at >= from * 3_600_000 && a.at < to * 3_600_000)
      const dayStart = START + day * DAY
      await clock.advanceTo(dayStart + from * 3_600_000)
      if (day === days - 1) before = counters(boxes)
      samples = await replay(gw.url, arrivals, dayStart, clock)
      opts.log?.(`fleet ${mode}: day ${day + 1}/${days} replayed (${arrivals.length} requests, ${((performance.now() - started) / 1000).toFixed(0)} s)`)
      if (day < days - 1) await clock.advanceTo(dayStart + to * 3_600_000)
    }
    const after = counters(boxes)
    const chats = samples.filter((s) => s.kind === "chat" && s.ok).map((s) => s.ttftMs)
    const users = [...new Set(samples.map((s) => s.user))]
    return {
      fleet: FLEET_CONFIGS[mode],
      unknownKeys: unknown,
      requests: samples.length,
      failed: samples.filter((s) => !s.ok).length,
      coldLoads: after.coldLoads - before.coldLoads,
      waitedRequests: after.waitedRequests - before.waitedRequests,
      loads: after.loads - before.loads,
      ttft: { p50: percentile(chats, 50), p95: percentile(chats, 95), max: Math.max(0, ...chats), count: chats.length },
      perUser: Object.fromEntries(
        users.map((u) => {
          const mine = samples.filter((s) => s.user === u)
          return [u, { requests: mine.length, p95: percentile(mine.map((s) => s.ttftMs), 95) }]
        })
      ),
      realSeconds: Math.round((performance.now() - started) / 100) / 10,
    }
  } finally {
    clock.stop()
    await gw.stop(0)
    await Promise.all(boxes.map((b) => b.stop()))
  }
}

export async function benchFleet(opts: FleetBenchOptions = {}): Promise<FleetReport> {
  const runs = {} as Record<FleetMode, FleetRun>
  for (const mode of Object.keys(FLEET_CONFIGS) as FleetMode[]) runs[mode] = await runFleet(mode, opts)
  const ratio = (off: number, on: number) => (on > 0 ? off / on : off > 0 ? Number.POSITIVE_INFINITY : Number.NaN)
  return {
    days: Math.max(1, opts.days ?? 8),
    hours: opts.hours ?? [0, 24],
    scale: opts.scale ?? 50,
    seed: opts.seed ?? 1,
    runs,
    coldLoadRatio: ratio(runs.off.coldLoads, runs.on.coldLoads),
    p95Ratio: ratio(runs.off.ttft.p95, runs.on.ttft.p95),
  }
}

export function printFleet(r: FleetReport): void {
  const s = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : "n/a")
  const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : Number.isNaN(v) ? "n/a" : "inf")
  const mark = (v: number, target: number) => (v >= target ? "PASS" : "MISS")
  const hours = r.hours[0] === 0 && r.hours[1] === 24 ? "" : `, ${r.hours[0]}:00-${r.hours[1]}:00 only`
  console.log(`Fleet: a team's day on 3 Ollama boxes (room for 1-2 models each), day ${r.days} of ${r.days} measured${hours} (simulated time, ${r.scale}x real while requests run; seed ${r.seed})`)
  const head = ["fleet", "requests", "failed", "cold loads", "requests that waited", "all loads", "TTFT p50", "TTFT p95", "TTFT max", "real s"]
  const rows = (Object.keys(r.runs) as FleetMode[]).map((m) => {
    const run = r.runs[m]
    return [m, String(run.requests), String(run.failed), String(run.coldLoads), String(run.waitedRequests), String(run.loads), s(run.ttft.p50), s(run.ttft.p95), s(run.ttft.max), String(run.realSeconds)]
  })
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
  console.log(line(head))
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`)
  for (const row of rows) console.log(line(row))
  for (const m of Object.keys(r.runs) as FleetMode[]) {
    const run = r.runs[m]
    console.log(`  ${m}: [fleet] ${JSON.stringify(run.fleet)}${run.unknownKeys.length ? ` (not known to this build, left out: ${run.unknownKeys.join(", ")})` : ""}; p95 by user: ${Object.entries(run.perUser).map(([u, v]) => `${u} ${s(v.p95)} (${v.requests})`).join(", ")}`)
  }
  console.log(`cold loads, off / on: ${x(r.coldLoadRatio)} (target >= 3x) ${mark(r.coldLoadRatio, 3)}`)
  console.log(`TTFT p95, off / on: ${x(r.p95Ratio)} (target >= 2x) ${mark(r.p95Ratio, 2)}`)
}
