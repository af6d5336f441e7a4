/**
 * `nexus fleet` as text: per box a memory bar with its loaded models (size, expiry,
 * requests in flight, pin), the learned load times, boxes whose models are always loaded,
 * the loads under way, the requests waiting in Nexus's queue per model, the last loads and
 * the warm-hit share.
 * Pure: the caller passes the time.
 * @module
 */
import { printable } from "./table.ts"
import type { FleetState } from "../http/fleet-admin.ts"

const GIB = 1024 ** 3
const BAR = 20
/** Ollama reports a model kept "forever" as expiring centuries away. */
const NO_EXPIRY_MS = 365 * 86_400_000

const gb = (bytes: number) => `${(bytes / GIB).toFixed(1)} GB`

function bar(used: number, total: number): string {
  const filled = Math.min(BAR, Math.round((used / total) * BAR))
  return `[${"#".repeat(filled)}${"-".repeat(BAR - filled)}]`
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.round(s / 60)} min`
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`
}

/** Nothing when the server has not said (LM Studio never does; Ollama on its next probe). */
function expiry(at: string | null, now: number): string[] {
  if (at === null) return []
  const left = Date.parse(at) - now
  return [left > NO_EXPIRY_MS ? "no expiry" : left <= 0 ? "expiring" : `expires in ${duration(left)}`]
}

type Box = FleetState["backends"][number]

function memoryLine(b: Box): string {
  if (b.memory_bytes === null) return `  memory: ${gb(b.used_bytes)} used (no budget known: set memory_gb on this backend)`
  return `  memory: ${bar(b.used_bytes, b.memory_bytes)} ${gb(b.used_bytes)} / ${gb(b.memory_bytes)}`
}

function box(b: Box, now: number): string[] {
  const head = `${b.backend} (${b.type})`
  if (b.lifecycle === "always_loaded") {
    const models = b.always_loaded.length ? b.always_loaded.join(", ") : "no models"
    return [`${head}: always loaded (no load/unload API): ${models}`]
  }
  const out = [head, memoryLine(b)]
  if (!b.loaded.length) out.push("  nothing loaded")
  const width = Math.max(0, ...b.loaded.map((m) => m.model.length))
  for (const m of b.loaded) {
    const facts = [m.size_bytes === null ? "size ?" : gb(m.size_bytes), ...expiry(m.expires_at, now)]
    if (m.in_flight > 0) facts.push(`${m.in_flight} in flight`)
    if (m.pinned) facts.push("pinned")
    out.push(`  ${m.model.padEnd(width)}  ${facts.join(", ")}`)
  }
  const learned = Object.entries(b.load_ms)
  if (learned.length) out.push(`  load times: ${learned.map(([model, ms]) => `${model} ${(ms / 1000).toFixed(1)} s`).join(", ")}`)
  return out
}

export function renderFleet(state: FleetState, now: number): string {
  if (!state.backends.length) return "No backends.\n"
  const lines = state.backends.flatMap((b) => [...box(b, now), ""])
  const loading = Object.entries(state.loading)
  if (loading.length) lines.push(`Loading now: ${loading.map(([model, backend]) => `${model} on ${backend}`).join(", ")}`, "")
  const waiting = Object.entries(state.waiting)
  if (waiting.length) lines.push(`Waiting for a slot: ${waiting.map(([model, n]) => `${model} ${n}`).join(", ")}`, "")
  if (state.recent_loads.length) {
    lines.push("Recent loads:")
    for (const l of [...state.recent_loads].reverse()) lines.push(`  ${l.at.slice(11, 19)}  ${l.model} on ${l.backend}, ${l.reason}, ${l.seconds.toFixed(1)} s`)
    lines.push("")
  }
  const { warm, cold } = state.requests
  if (warm + cold > 0) lines.push(`Requests: ${warm} found their model loaded, ${cold} waited for a load (${((warm / (warm + cold)) * 100).toFixed(1)}% warm)`)
  // Model and backend names are the servers' and the config's: never terminal controls.
  return `${lines.map(printable).join("\n").trimEnd()}\n`
}
