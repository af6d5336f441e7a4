/**
 * What auto would load, unload or keep next, and why in words: pre-warm a model before
 * its usual demand where it fits without evicting anything in use; load a second copy
 * when a model's queue on its box keeps growing while another box has room; unload such
 * a copy once it has been idle long enough. Pure: the facts and the time come in, the
 * auto loop and the plan endpoint read the same answer.
 * @module
 */
import { isCloud, isRoutable, type Backend } from "../core/backend.ts"
import { HOUR_MS, hourLabel, hourOfWeek, hourStart } from "./demand.ts"
import { evictionClass, placementOrder, type PlacementFacts } from "./placement.ts"

export type ActionKind = "prewarm" | "migrate" | "idle"

export interface Action {
  action: "load" | "unload" | "keep"
  kind: ActionKind
  model: string
  backend: string
  reason: string
}

/** A copy auto loaded because a model's queue kept growing on another box. */
export interface ExtraCopy {
  backend: Backend
  model: string
  /** The box whose queue it relieves. */
  from: string
  /** Last request on it finished (or it was loaded), epoch ms. */
  lastUsed: number
}

/**
 * The queue of a model at a box (its requests in flight there plus those waiting in
 * Nexus's queue for the model), one sample per planner tick, oldest first.
 */
export interface QueueSamples {
  backend: Backend
  model: string
  depths: readonly number[]
}

export interface PlanFacts {
  prewarmMinutes: number
  idleUnloadMinutes: number
  /** Healthy backends whose server loads and unloads models. */
  managed: ReadonlySet<Backend>
  /** Every backend listing the model (any type). */
  holders(model: string): readonly Backend[]
  placement: PlacementFacts
  /** Models with demand recorded, and how many requests a week each gets in an hour. */
  demandModels: readonly string[]
  demand(model: string, hour: number): number
  /** The backend id a load of the model is under way on. */
  loading(model: string): string | undefined
  /** Whether auto already pre-warmed the model for the hour starting at `slot`. */
  prewarmed(model: string, slot: number): boolean
  queues: readonly QueueSamples[]
  extras: readonly ExtraCopy[]
}

/** Fewer requests a week than this in an hour is no pattern to act on. */
export const MIN_WEEKLY_DEMAND = 3
/** Samples (a minute apart) over which a queue must keep growing before a second copy loads. */
export const GROWTH_SAMPLES = 3
/** Memory as `memory_gb` counts it. */
const GB = 1024 ** 3

const minutes = (ms: number) => `${Math.max(0, Math.round(ms / 60_000))} min`

/** Why `b` can take `model`, for a placement class 0 or 1. */
function room(b: Backend, model: string, cls: number): string {
  if (cls === 1) return `${b.name} makes room by evicting idle models only`
  if (b.memoryBytes === undefined) return `${b.name} sets no memory limit (memory_gb)`
  let used = 0
  for (const m of b.models.values()) if (m.loaded === true && m.id !== model) used += m.sizeBytes ?? 0
  return `${b.name} has ${((b.memoryBytes - used) / GB).toFixed(1)} GB free`
}

/**
 * A copy that serves `model` warm now, so a pre-warm or a second copy would add nothing:
 * a healthy local box with it loaded, always-loaded servers (vLLM) included, since the
 * router sends requests to a warm local copy first. Never a cloud: local comes first, and
 * policy may keep requests off it.
 */
const servesWarm = (b: Backend, model: string) => !isCloud(b) && isRoutable(b) && b.models.get(model)?.loaded !== false

function prewarm(f: PlanFacts, now: number): Action[] {
  const lead = f.prewarmMinutes * 60_000
  const slot = hourStart(now) + HOUR_MS
  if (lead <= 0 || slot - now > lead) return []
  const hour = hourOfWeek(slot)
  const out: Action[] = []
  for (const model of f.demandModels) {
    const n = f.demand(model, hour)
    if (n < MIN_WEEKLY_DEMAND || f.prewarmed(model, slot) || f.loading(model) !== undefined) continue
    const list = f.holders(model)
    if (!list.length || list.some((b) => servesWarm(b, model))) continue
    const managed = list.filter((b) => f.managed.has(b))
    if (!managed.length) continue
    const [first] = placementOrder(managed.map((backend) => ({ backend })), model, f.placement)
    const b = first!.backend
    const why = `usual demand ${hourLabel(hour)} (${Math.round(n)} requests/week) starts in ${minutes(slot - now)}`
    const cls = evictionClass(b, model, f.placement)
    out.push(
      cls === 2
        ? { action: "keep", kind: "prewarm", model, backend: b.name, reason: `${why}, but ${b.name} has no room for it without evicting a model in use or pinned: not loaded` }
        : { action: "load", kind: "prewarm", model, backend: b.name, reason: `${why}; ${room(b, model, cls)}` }
    )
  }
  return out
}

/** More requests at each sample than the one before or as many, and more at the end. */
export function keepsGrowing(depths: readonly number[]): boolean {
  if (depths.length < GROWTH_SAMPLES) return false
  const last = depths.slice(-GROWTH_SAMPLES)
  for (let i = 1; i < last.length; i++) if (last[i]! < last[i - 1]!) return false
  return last[last.length - 1]! > last[0]! && last[last.length - 1]! >= 2
}

function migrate(f: PlanFacts): Action[] {
  const out: Action[] = []
  for (const q of f.queues) {
    const { model, backend: from } = q
    if (from.models.get(model)?.loaded !== true || !keepsGrowing(q.depths)) continue
    const list = f.holders(model).filter((b) => b !== from)
    const loading = f.loading(model)
    if (list.some((b) => servesWarm(b, model)) || (loading !== undefined && loading !== from.id)) continue
    const d = q.depths.slice(-GROWTH_SAMPLES)
    const trend = `requests on ${model} at ${from.name} grew ${d[0]} → ${d[d.length - 1]} over ${d.length - 1} min`
    const roomy = list.filter((b) => f.managed.has(b) && evictionClass(b, model, f.placement) === 0)
    if (!roomy.length) {
      out.push({ action: "keep", kind: "migrate", model, backend: from.name, reason: `${trend}, but no other box has room for it without evicting: no second copy` })
      continue
    }
    const [first] = placementOrder(roomy.map((backend) => ({ backend })), model, f.placement)
    const b = first!.backend
    out.push({ action: "load", kind: "migrate", model, backend: b.name, reason: `${trend}; ${room(b, model, 0)}: a second copy there` })
  }
  return out
}

function idle(f: PlanFacts, now: number): Action[] {
  const limitMs = f.idleUnloadMinutes * 60_000
  const out: Action[] = []
  for (const e of f.extras) {
    const { backend: b, model } = e
    if (b.models.get(model)?.loaded !== true || !f.managed.has(b)) continue
    const base = { kind: "idle" as const, model, backend: b.name }
    const copy = `second copy loaded for the queue on ${e.from}`
    const busy = f.placement.inUse(b.id, model)
    const idleMs = now - e.lastUsed
    if (f.placement.pinned(model, b.name)) out.push({ ...base, action: "keep", reason: `${copy}; pinned on ${b.name}: never unloaded` })
    else if (busy > 0) out.push({ ...base, action: "keep", reason: `${copy}; ${busy} request(s) in flight` })
    else if (idleMs >= limitMs) out.push({ ...base, action: "unload", reason: `${copy}; idle for ${minutes(idleMs)} (idle_unload_minutes = ${f.idleUnloadMinutes})` })
    else out.push({ ...base, action: "keep", reason: `${copy}; idle for ${minutes(idleMs)} of ${f.idleUnloadMinutes} min` })
  }
  return out
}

/** Everything auto would do now, loads and unloads first, then what it keeps and why. */
export function planFleet(facts: PlanFacts, now: number): Action[] {
  const all = [...prewarm(facts, now), ...migrate(facts), ...idle(facts, now)]
  // One load per model a round: the next round sees where it went.
  const loading = new Set<string>()
  const acts = all.filter((a) => a.action === "unload" || (a.action === "load" && !loading.has(a.model) && loading.add(a.model)))
  return [...acts, ...all.filter((a) => a.action === "keep")]
}
