/**
 * The routing decision: from a requested model to an ordered list of attempts
 * (backend + model name to send), or a structured reason why there is none.
 * Pure reads of the registry; nothing here does I/O.
 * @module
 */
import type { RoutingConfig } from "../config/types.ts"
import { isRoutable, type Registry } from "../registry/registry.ts"
import type { Backend } from "../registry/types.ts"
import { resolveAlias } from "../core/aliases.ts"
import type { Breakers } from "./breaker.ts"
import type { Requirements } from "./requirements.ts"
import { orderCandidates } from "./score.ts"

export interface Attempt {
  backend: Backend
  /** The model name sent to this backend. */
  model: string
  score: number
  /** Set when this attempt serves a fallback model rather than the one asked for. */
  fallbackFrom?: string
}

export interface Exclusion {
  backend: string
  model: string
  reason: string
  /** The backend could take it once a slot frees up. */
  capacity?: boolean
}

export type Plan =
  | {
      ok: true
      requested: string
      resolved: string
      attempts: Attempt[]
      excluded: Exclusion[]
      /** Why the first attempt was chosen (X-Nexus-Route-Reason). */
      reason: string
    }
  | { ok: false; kind: "not_found"; requested: string; available: string[] }
  | {
      ok: false
      kind: "unavailable"
      requested: string
      resolved: string
      excluded: Exclusion[]
      /** Some capable backend is only at capacity: waiting in the queue can help. */
      waitable: boolean
    }

export type Router = ReturnType<typeof createRouter>

export function createRouter(registry: Registry, getConfig: () => RoutingConfig, breakers?: Breakers) {
  const ticks = new Map<string, number>()

  /** Why a backend cannot take this request now, or undefined when it can. */
  function exclusionReason(b: Backend, model: string, needs: Requirements): string | undefined {
    if (!isRoutable(b.status)) {
      if (b.status === "unknown") return "not checked yet"
      return b.lastError ? `${b.status}: ${b.lastError}` : b.status
    }
    const info = b.models.get(model)
    const caps = info?.capabilities
    if (caps) {
      if (needs.vision && caps.vision === false) return "model lacks vision"
      if (needs.tools && caps.tools === false) return "model lacks tool calling"
      if (needs.jsonMode && caps.json_mode === false) return "model lacks JSON mode"
      if (needs.embeddings && caps.embeddings === false) return "model does not do embeddings"
      if (!needs.embeddings && caps.completion === false) return "model does not do chat (embeddings only)"
    }
    const ctx = info?.contextLength
    if (ctx && needs.estimatedTokens > ctx) {
      return `context too small: request needs ~${needs.estimatedTokens} tokens, model has ${ctx}`
    }
    const refused = breakers?.refusal(b.id)
    if (refused) return refused
    return undefined
  }

  function atCapacity(b: Backend): boolean {
    return b.maxConcurrent !== undefined && b.stats.inFlight >= b.maxConcurrent
  }

  function candidatesFor(model: string, needs: Requirements, excluded: Exclusion[]): Attempt[] {
    const config = getConfig()
    const ok: Backend[] = []
    for (const b of registry.backendsFor(model)) {
      const reason = exclusionReason(b, model, needs)
      if (reason) excluded.push({ backend: b.name, model, reason })
      else if (atCapacity(b)) {
        const reason = `at capacity (${b.stats.inFlight}/${b.maxConcurrent} in flight)`
        excluded.push({ backend: b.name, model, reason, capacity: true })
      } else ok.push(b)
    }
    if (!ok.length) return []
    const tick = ticks.get(model) ?? 0
    if (config.strategy === "round_robin") ticks.set(model, tick + 1)
    // Each model gets its own retry budget, so fallbacks stay reachable.
    return orderCandidates(ok, config.strategy, config.weights, tick, model)
      .slice(0, config.max_retries + 1)
      .map((s) => ({ backend: s.backend, model, score: s.score }))
  }

  return {
    /**
     * Plan a request for `requested`. Attempts list the primary model's candidates
     * best first, then each fallback's, so the proxy can walk one list on failure.
     */
    plan(requested: string, needs: Requirements): Plan {
      const config = getConfig()
      const resolved = resolveAlias(config.aliases, requested)
      const excluded: Exclusion[] = []
      const attempts = candidatesFor(resolved, needs, excluded)
      const primaryCount = attempts.length

      const fallbacks = config.fallbacks[resolved] ?? config.fallbacks[requested] ?? []
      for (const name of fallbacks) {
        const model = resolveAlias(config.aliases, name)
        if (model === resolved) continue
        for (const a of candidatesFor(model, needs, excluded)) {
          attempts.push({ ...a, fallbackFrom: resolved })
        }
      }

      if (!attempts.length) {
        const known =
          registry.backendsFor(resolved).length > 0 ||
          fallbacks.some((f) => registry.backendsFor(resolveAlias(config.aliases, f)).length > 0)
        if (!known) return { ok: false, kind: "not_found", requested, available: registry.modelIds().sort() }
        return { ok: false, kind: "unavailable", requested, resolved, excluded, waitable: excluded.some((e) => e.capacity) }
      }
      const first = attempts[0]!
      let reason: string
      if (primaryCount === 0) reason = `fallback:${first.model}`
      else if (primaryCount === 1) reason = "only_candidate"
      else reason = config.strategy === "smart" ? `highest_score:${first.score}` : config.strategy
      return { ok: true, requested, resolved, attempts, excluded, reason }
    },
  }
}
