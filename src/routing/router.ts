/**
 * The routing decision: from a requested model to an ordered list of attempts
 * (backend + model name to send), or a structured reason why there is none.
 * Pure reads of the registry; nothing here does I/O.
 * @module
 */
import { atCapacity, isCloud, isRoutable, type Backend, type ModelInfo } from "../core/backend.ts"
import type { BackendFilter, PolicyRefusal } from "../core/policy.ts"
import type { Requirements } from "../core/request.ts"
import type { RoutingConfig } from "../config/types.ts"
import type { Registry } from "../registry/registry.ts"
import { aliasTarget, resolveAlias } from "../core/aliases.ts"
import { contextNeed } from "../core/output-budget.ts"
import { modelKey, normaliseModel } from "../core/model-name.ts"
import type { Fleet } from "../fleet/fleet.ts"
import type { Breakers } from "./breaker.ts"
import { fallbackTable, type FallbackTable } from "./fallbacks.ts"
import { orderCandidates, type Scored } from "./score.ts"

export interface Attempt {
  backend: Backend
  /** The model name sent to this backend. */
  model: string
  score: number
  /** Set when this attempt serves a fallback model rather than the one asked for. */
  fallbackFrom?: string
}

/** With `policy`: the rule that excluded it, and the facts that rule gives. */
export interface Exclusion extends Partial<Omit<PolicyRefusal, "reason">> {
  backend: string
  model: string
  reason: string
  /**
   * `capacity`: it could take it once a slot frees up; `capability`: the model cannot do
   * what the request asks, whatever happens; `placement`: loading the model there would
   * evict a pinned model; `health`, `breaker`, `policy`: the rest.
   */
  kind: "health" | "capability" | "policy" | "breaker" | "capacity" | "placement"
  /** Set when the model's context window is what excludes it. */
  contextLength?: number
  /** With `contextLength`: the tokens the request needs (its prompt and a minimal answer). */
  promptTokens?: number
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

const NO_FALLBACKS: readonly string[] = Object.freeze([])

export function createRouter(registry: Registry, getConfig: () => RoutingConfig, breakers?: Breakers, fleet?: Fleet) {
  const ticks = new Map<string, number>()
  let fallbacksOf: { fallbacks: RoutingConfig["fallbacks"]; aliases: RoutingConfig["aliases"]; table: FallbackTable } | undefined

  /** The fallbacks of a request: its exact key first, else any spelling of it or of what it resolves to. */
  function fallbacksFor(config: RoutingConfig, resolved: string, requested: string): readonly string[] {
    // Own keys only: a model named `constructor` has no fallbacks from Object's prototype.
    const own = config.fallbacks
    const exact = Object.hasOwn(own, resolved) ? own[resolved] : Object.hasOwn(own, requested) ? own[requested] : undefined
    if (exact) return exact
    if (fallbacksOf?.fallbacks !== config.fallbacks || fallbacksOf.aliases !== config.aliases) {
      fallbacksOf = { fallbacks: config.fallbacks, aliases: config.aliases, table: fallbackTable(config.fallbacks, config.aliases) }
    }
    const table = fallbacksOf.table
    if (table.size === 0) return NO_FALLBACKS
    return table.get(modelKey(resolved)) ?? table.get(modelKey(requested)) ?? NO_FALLBACKS
  }

  /** Why a backend cannot take this request now, or undefined when it can. */
  function exclusionOf(b: Backend, model: string, needs: Requirements, policy: readonly BackendFilter[]): Omit<Exclusion, "backend" | "model"> | undefined {
    if (!isRoutable(b)) {
      if (b.status === "unknown") return { kind: "health", reason: "not checked yet" }
      return { kind: "health", reason: b.lastError ? `${b.status}: ${b.lastError}` : b.status }
    }
    const info = b.models.get(model)
    const reason = lacking(info, needs)
    if (reason) return { kind: "capability", reason, ...(reason.startsWith("context") ? { contextLength: info?.contextLength, promptTokens: contextNeed(needs) } : {}) }
    for (const exclude of policy) {
      const refusal = exclude(b, model)
      if (refusal) return { kind: "policy", ...refusal }
    }
    const refused = breakers?.refusal(b.id)
    return refused ? { kind: "breaker", reason: refused } : undefined
  }

  function candidatesFor(model: string, needs: Requirements, policy: readonly BackendFilter[], excluded: Exclusion[], prefer?: string): Attempt[] {
    const config = getConfig()
    const ok: Backend[] = []
    let full: Backend[] | undefined
    for (const b of registry.backendsFor(model)) {
      const why = exclusionOf(b, model, needs, policy)
      if (why) excluded.push({ backend: b.name, model, ...why })
      else if (atCapacity(b)) {
        const reason = `at capacity (${b.stats.inFlight}/${b.maxConcurrent} in flight)`
        excluded.push({ backend: b.name, model, kind: "capacity", reason })
        ;(full ??= []).push(b)
      } else ok.push(b)
    }
    if (!ok.length) return []
    const tick = ticks.get(model) ?? 0
    if (config.strategy === "round_robin") ticks.set(model, tick + 1)
    // Local first: a cloud backend is tried only after every local one (it costs money
    // and data leaves the network). Each model gets its own retry budget, so fallbacks
    // stay reachable. A session's local backend goes first among the local ones if it is
    // not much worse (a cloud API's prompt cache does not depend on which key we route to).
    // Local first: cloud candidates only after every local one (most fleets have none).
    const scored = orderCandidates(ok, config.strategy, config.weights, tick, model)
    let hasCloud = false
    for (let i = 0; i < scored.length && !hasCloud; i++) hasCloud = isCloud(scored[i]!.backend)
    let local = hasCloud ? scored.filter((s) => !isCloud(s.backend)) : scored
    // A model cold on local candidates loads once, where it costs least and evicts nothing that must stay.
    if (fleet && local.length) local = fleet.order(model, local, full, excluded)
    const ordered = prefer === undefined ? local : preferred(local, prefer, config.sessions.spill_margin)
    const all = hasCloud ? [...ordered, ...scored.filter((s) => isCloud(s.backend))] : ordered
    // A loop, not slice().map(): this runs for every request.
    const attempts: Attempt[] = []
    const n = Math.min(all.length, config.max_retries + 1)
    for (let i = 0; i < n; i++) attempts.push({ backend: all[i]!.backend, model, score: all[i]!.score })
    return attempts
  }

  /** An alias's target, then the name as the backends list it (`llama3.2` -> `llama3.2:latest`). */
  function resolve(aliases: Record<string, string>, name: string): string {
    // The common case: a name some backend lists, and no alias for it.
    if (aliases[name] === undefined && registry.backendsFor(name).length > 0) return name
    const known = (n: string) => registry.backendsFor(n).length > 0
    const target = resolveAlias(aliases, normaliseModel(name, (n) => known(n) || aliasTarget(aliases, n, known) !== undefined), known)
    const listed = normaliseModel(target, known)
    // Names are case-blind, as Ollama's are: `LLAMA3` is the `llama3:latest` a server lists.
    return known(listed) ? listed : (registry.listedAs(listed) ?? listed)
  }

  return {
    /** The model a request for `requested` is served by (aliases, `:latest`): what policy is decided on. */
    resolve(requested: string): string {
      return resolve(getConfig().aliases, requested)
    },

    /**
     * Plan a request for `requested`. Attempts list the primary model's candidates
     * best first, then each fallback's, so the proxy can walk one list on failure.
     * `policy` holds the exclusions of the policy stages that ran for this request.
     * `prefer` is the backend id a session was last served by (sticky sessions): it goes
     * first when it is a candidate and its score is within the spill margin of the best.
     */
    plan(requested: string, needs: Requirements, policy: readonly BackendFilter[] = [], prefer?: string): Plan {
      const config = getConfig()
      const resolved = resolve(config.aliases, requested)
      const excluded: Exclusion[] = []
      const attempts = candidatesFor(resolved, needs, policy, excluded, prefer)
      const primaryCount = attempts.length

      const fallbacks = fallbacksFor(config, resolved, requested)
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
      else if (prefer !== undefined && first.backend.id === prefer) reason = "session_affinity"
      else reason = config.strategy === "smart" ? `highest_score:${first.score}` : config.strategy
      return { ok: true, requested, resolved, attempts, excluded, reason }
    },
  }
}

/**
 * Move the session's backend to the front while it is not much worse than the best (a
 * bounded spill: a busy or failing home loses the session to a better backend).
 */
function preferred(ordered: Scored[], prefer: string | undefined, margin: number): Scored[] {
  if (prefer === undefined) return ordered
  const i = ordered.findIndex((s) => s.backend.id === prefer)
  if (i <= 0) return ordered
  const scored = ordered.some((s) => s.score !== 0)
  if (scored && ordered[i]!.score < ordered[0]!.score - margin) return ordered
  return [ordered[i]!, ...ordered.slice(0, i), ...ordered.slice(i + 1)]
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
  const need = contextNeed(needs)
  if (ctx && need > ctx) return `context too small: request needs ~${need} tokens, model has ${ctx}`
  return undefined
}
