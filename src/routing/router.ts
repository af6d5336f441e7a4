/**
 * The routing decision: from a requested model to an ordered list of attempts
 * (backend + model name to send), or a structured reason why there is none.
 * Pure reads of the registry; nothing here does I/O.
 * @module
 */
import { isCloud, isRoutable, type Backend, type ModelInfo } from "../core/backend.ts"
import type { BackendFilter } from "../core/policy.ts"
import type { Requirements } from "../core/request.ts"
import type { RoutingConfig } from "../config/types.ts"
import type { Registry } from "../registry/registry.ts"
import { resolveAlias } from "../core/aliases.ts"
import { normaliseModel } from "../core/model-name.ts"
import type { Breakers } from "./breaker.ts"
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
  /**
   * `capacity`: it could take it once a slot frees up; `capability`: the model cannot do
   * what the request asks, whatever happens; `health`, `breaker`, `policy`: the rest.
   */
  kind: "health" | "capability" | "policy" | "breaker" | "capacity"
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
  function exclusionOf(b: Backend, model: string, needs: Requirements, policy: readonly BackendFilter[]): Omit<Exclusion, "backend" | "model"> | undefined {
    if (!isRoutable(b)) {
      if (b.status === "unknown") return { kind: "health", reason: "not checked yet" }
      return { kind: "health", reason: b.lastError ? `${b.status}: ${b.lastError}` : b.status }
    }
    const reason = lacking(b.models.get(model), needs)
    if (reason) return { kind: "capability", reason }
    for (const exclude of policy) {
      const reason = exclude(b, model)
      if (reason) return { kind: "policy", reason }
    }
    const refused = breakers?.refusal(b.id)
    return refused ? { kind: "breaker", reason: refused } : undefined
  }

  function atCapacity(b: Backend): boolean {
    return b.maxConcurrent !== undefined && b.stats.inFlight >= b.maxConcurrent
  }

  function candidatesFor(model: string, needs: Requirements, policy: readonly BackendFilter[], excluded: Exclusion[]): Attempt[] {
    const config = getConfig()
    const ok: Backend[] = []
    for (const b of registry.backendsFor(model)) {
      const why = exclusionOf(b, model, needs, policy)
      if (why) excluded.push({ backend: b.name, model, ...why })
      else if (atCapacity(b)) {
        const reason = `at capacity (${b.stats.inFlight}/${b.maxConcurrent} in flight)`
        excluded.push({ backend: b.name, model, kind: "capacity", reason })
      } else ok.push(b)
    }
    if (!ok.length) return []
    const tick = ticks.get(model) ?? 0
    if (config.strategy === "round_robin") ticks.set(model, tick + 1)
    // Local first: a cloud backend is tried only after every local one (it costs money
    // and data leaves the network). Each model gets its own retry budget, so fallbacks
    // stay reachable.
    const ordered = orderCandidates(ok, config.strategy, config.weights, tick, model)
    return [...ordered.filter((s) => !isCloud(s.backend)), ...ordered.filter((s) => isCloud(s.backend))]
      .slice(0, config.max_retries + 1)
      .map((s) => ({ backend: s.backend, model, score: s.score }))
  }

  /** An alias's target, then the name as the backends list it (`llama3.2` -> `llama3.2:latest`). */
  function resolve(aliases: Record<string, string>, name: string): string {
    const known = (n: string) => registry.backendsFor(n).length > 0
    const target = resolveAlias(aliases, normaliseModel(name, (n) => aliases[n] !== undefined || known(n)))
    return normaliseModel(target, known)
  }

  return {
    /**
     * Plan a request for `requested`. Attempts list the primary model's candidates
     * best first, then each fallback's, so the proxy can walk one list on failure.
     * `policy` holds the exclusions of the policy stages that ran for this request.
     */
    plan(requested: string, needs: Requirements, policy: readonly BackendFilter[] = []): Plan {
      const config = getConfig()
      const resolved = resolve(config.aliases, requested)
      const excluded: Exclusion[] = []
      const attempts = candidatesFor(resolved, needs, policy, excluded)
      const primaryCount = attempts.length

      const fallbacks = config.fallbacks[resolved] ?? config.fallbacks[requested] ?? []
      for (const name of fallbacks) {
        const model = resolve(config.aliases, name)
        if (model === resolved) continue
        for (const a of candidatesFor(model, needs, policy, excluded)) {
          attempts.push({ ...a, fallbackFrom: resolved })
        }
      }

      if (!attempts.length) {
        const known =
          registry.backendsFor(resolved).length > 0 ||
          fallbacks.some((f) => registry.backendsFor(resolve(config.aliases, f)).length > 0)
        if (!known) return { ok: false, kind: "not_found", requested, available: registry.modelIds().sort() }
        return { ok: false, kind: "unavailable", requested, resolved, excluded, waitable: excluded.some((e) => e.kind === "capacity") }
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

/** What the model lacks for this request, from what its backend told us. */
function lacking(info: ModelInfo | undefined, needs: Requirements): string | undefined {
  const caps = info?.capabilities
  if (caps) {
    if (needs.vision && caps.vision === false) return "model lacks vision"
    if (needs.tools && caps.tools === false) return "model lacks tool calling"
    if (needs.jsonMode && caps.json_mode === false) return "model lacks JSON mode"
    if (needs.embeddings && caps.embeddings === false) return "model does not do embeddings"
    if (!needs.embeddings && caps.completion === false) return "model does not do chat (embeddings only)"
  }
  const ctx = info?.contextLength
  if (ctx && needs.estimatedTokens > ctx) return `context too small: request needs ~${needs.estimatedTokens} tokens, model has ${ctx}`
  return undefined
}
