/**
 * Ordering candidates by strategy. `smart` blends five signals, each 0..1: configured
 * priority on the original's 0..100 scale (lower wins; 1 vs 2 is a nudge, 1 vs 90 a
 * strong preference, so load can still spill over), load (in-flight
 * relative to capacity), observed time to first byte on real requests (relative to
 * the fastest), whether the model is already loaded (warm), and recent error rate.
 * @module
 */
import type { RoutingStrategy, RoutingWeights } from "../config/types.ts"
import type { Backend } from "../core/backend.ts"

/** Load as a 0..1 fraction: in-flight over capacity, or a soft curve when unlimited. */
export function loadOf(b: Backend): number {
  const inFlight = b.stats.inFlight
  if (b.maxConcurrent) return Math.min(inFlight / b.maxConcurrent, 1)
  return inFlight / (inFlight + 4)
}

export interface Scored {
  backend: Backend
  score: number
}

/** 1 when the model is loaded on `b`, 0 when known not to be, 0.5 when unknown. */
function warmth(b: Backend, model: string): number {
  const loaded = b.models.get(model)?.loaded
  return loaded === true ? 1 : loaded === false ? 0 : 0.5
}

export function smartScores(candidates: readonly Backend[], w: RoutingWeights, model = ""): Scored[] {
  let minLat = Infinity
  for (const b of candidates) {
    const lat = b.stats.ttftEwmaMs
    if (lat !== undefined && lat < minLat) minLat = lat
  }
  const total = w.priority + w.load + w.latency + w.warm + w.errors || 1
  const out: Scored[] = []
  for (const b of candidates) {
    const priority = (100 - Math.min(Math.max(b.priority, 0), 100)) / 100
    const load = 1 - loadOf(b)
    const lat = b.stats.ttftEwmaMs
    // No sample yet counts as "as good as the best", so a new backend gets traffic.
    const latency = lat === undefined || minLat === Infinity ? 1 : (minLat + 1) / (lat + 1)
    const score =
      (w.priority * priority +
        w.load * load +
        w.latency * latency +
        w.warm * warmth(b, model) +
        w.errors * (1 - b.stats.errorRate)) /
      total
    out.push({ backend: b, score: Math.round(score * 1000) / 1000 })
  }
  return out
}

/** Order candidates best first. Ties keep registration order (Array.prototype.sort is stable). */
export function orderCandidates(
  candidates: readonly Backend[],
  strategy: RoutingStrategy,
  weights: RoutingWeights,
  /** Round-robin position: the router counts per model. */
  tick = 0,
  model = ""
): Scored[] {
  switch (strategy) {
    case "smart":
      return smartScores(candidates, weights, model).sort((a, b) => b.score - a.score)
    case "priority_only":
      return candidates.map((backend) => ({ backend, score: -backend.priority })).sort((a, b) => b.score - a.score)
    case "least_busy":
      return candidates
        .map((backend) => ({ backend, score: 1 - loadOf(backend) }))
        .sort((a, b) => b.score - a.score || a.backend.priority - b.backend.priority)
    case "round_robin": {
      const n = candidates.length
      const start = n ? tick % n : 0
      return candidates.map((_, i) => ({ backend: candidates[(start + i) % n]!, score: 0 }))
    }
    case "random": {
      const arr = candidates.map((backend) => ({ backend, score: Math.random() }))
      return arr.sort((a, b) => b.score - a.score)
    }
  }
}
