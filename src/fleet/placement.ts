/**
 * Where a model that is cold everywhere should load: first where it fits in free memory
 * (evicting nothing), then where the least recently used idle models can make room, and
 * last where room would mean evicting a model in use or pinned (which requests never do:
 * `evictionBlock` says why). Within a class, an idle box before a busy one, then the
 * shortest learned load time. Pure.
 * @module
 */
import type { Backend } from "../core/backend.ts"

export interface PlacementFacts {
  /** Requests in flight on this model on this backend. */
  inUse(backendId: string, model: string): number
  pinned(model: string, backendName: string): boolean
  /** Learned cold-load time, ms, when one was observed. */
  loadMs(backendId: string, model: string): number | undefined
}

/** What `model` needs on `b` against what is loaded there; undefined when either size is unknown. */
function tally(b: Backend, model: string, facts: PlacementFacts) {
  const need = b.models.get(model)?.sizeBytes
  const budget = b.memoryBytes
  if (budget === undefined || need === undefined) return undefined
  let used = 0
  let pinnedBytes = 0
  let busyBytes = 0
  const pinned: string[] = []
  const busy: string[] = []
  for (const m of b.models.values()) {
    if (m.loaded !== true || m.id === model) continue
    const bytes = m.sizeBytes ?? 0
    used += bytes
    if (facts.pinned(m.id, b.name)) {
      pinnedBytes += bytes
      pinned.push(m.id)
    } else if (facts.inUse(b.id, m.id) > 0) {
      busyBytes += bytes
      busy.push(m.id)
    }
  }
  const cls = used + need <= budget ? 0 : pinnedBytes + busyBytes + need <= budget ? 1 : 2
  return { cls, need, budget, pinnedBytes, pinned, busy }
}

/** 0: fits as is; 1: evicts idle models; 2: would evict a model in use or pinned. */
export function evictionClass(b: Backend, model: string, facts: PlacementFacts): number {
  return tally(b, model, facts)?.cls ?? 0
}

/** Why loading `model` on `b` is out: it would evict a pinned model, or one with requests in flight. */
export interface EvictionBlock {
  reason: string
  /** Only models in use stand in the way: they become idle, so waiting helps (a pin does not end by waiting). */
  waitable: boolean
}

/** What loading `model` on `b` would evict that must stay (eviction class 2), or undefined when nothing must. */
export function evictionBlock(b: Backend, model: string, facts: PlacementFacts): EvictionBlock | undefined {
  const t = tally(b, model, facts)
  if (t?.cls !== 2) return undefined
  if (t.pinnedBytes + t.need > t.budget) return { reason: `loading ${model} here would evict pinned ${t.pinned.join(", ")}`, waitable: false }
  return { reason: `loading ${model} here would evict ${t.busy.join(", ")} (requests in flight)`, waitable: true }
}

/** Candidates in placement order (stable for ties). */
export function placementOrder<T extends { backend: Backend }>(candidates: readonly T[], model: string, facts: PlacementFacts): T[] {
  const keyed = candidates.map((c, i) => ({
    c,
    i,
    cls: evictionClass(c.backend, model, facts),
    busy: c.backend.stats.inFlight > 0 ? 1 : 0,
    ms: facts.loadMs(c.backend.id, model) ?? Number.MAX_SAFE_INTEGER,
  }))
  keyed.sort((a, b) => a.cls - b.cls || a.busy - b.busy || a.ms - b.ms || a.i - b.i)
  return keyed.map((k) => k.c)
}
