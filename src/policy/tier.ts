/**
 * Capability tier. The tier a request needs is the stricter of its policy's `min_tier`
 * and `X-Nexus-Min-Tier`, else the tier of the best backend that serves its model among
 * those its privacy zone allows. In the default strict mode no backend below it serves
 * the request, fallbacks and failover included (a fallback's own `min_tier` counts too):
 * the request fails with the reason instead (never a silent downgrade).
 * `X-Nexus-Flexible: true` opts in to the best lower tier when nothing at the needed tier
 * can serve a model, never below the operator's `min_tier`; the response then says so.
 * @module
 */
import { isRoutable, type Backend } from "../core/backend.ts"
import type { PolicyInput, PolicyRefusal, PolicyStage } from "../core/policy.ts"
import type { RoutingConfig } from "../config/types.ts"
import type { Registry } from "../registry/registry.ts"
import { decide, flag, policyFor, restrictedModel, type Decision } from "./rules.ts"

/** The best tier among `backends` that a request restricted or not may use (0: none). */
function bestTier(backends: readonly Backend[], restricted: boolean, routableOnly: boolean): number {
  let best = 0
  for (const b of backends) {
    if ((restricted && b.zone !== "restricted") || (routableOnly && !isRoutable(b))) continue
    if (b.tier > best) best = b.tier
  }
  return best
}

/** The tier this request needs, or undefined when no backend it may use knows the model (a 404 or 503 follows). */
function needed(d: Decision, registry: Registry, input: PolicyInput): number | undefined {
  if (d.policyTier !== undefined || d.headerTier !== undefined) return Math.max(d.policyTier ?? 0, d.headerTier ?? 0)
  return bestTier(registry.backendsFor(input.resolved), d.restricted, false) || undefined
}

/** Where the needed tier comes from, and so what would lower it. */
function source(d: Decision, need: number): TierSource {
  if (need === d.policyTier) return "policy"
  if (need === d.headerTier) return "header"
  return "best"
}

type TierSource = NonNullable<PolicyRefusal["tierSource"]>

const SOURCE_WORDS: Record<TierSource, string> = {
  policy: "policy min_tier",
  header: "X-Nexus-Min-Tier",
  best: "the best tier serving the model",
}

export function tier(config: () => RoutingConfig, registry: Registry): PolicyStage {
  return {
    name: "tier",
    check(input) {
      const cfg = config()
      const d = decide(cfg, input)
      if (d.error) return { reject: d.error }
      const need = needed(d, registry, input) ?? 0
      const ownTiers = cfg.policies.some((p) => p.min_tier !== undefined)
      // No backend anywhere (fallbacks included) is below it: nothing to exclude.
      if (need <= registry.lowestTier() && !ownTiers) return undefined
      const flexible = flag(input.headers, "x-nexus-flexible") && !flag(input.headers, "x-nexus-strict")
      // Only a flexible request can be served below it, and its answer says so.
      if (flexible) input.tier = need
      return {
        exclude: (b, model) => {
          let min = need
          let floor = d.policyTier ?? 0
          let why = source(d, need)
          // A fallback to another model brings that model's own floor.
          const own = ownTiers && model !== input.resolved ? policyFor(cfg, model)?.min_tier : undefined
          if (own !== undefined && own > floor) floor = own
          if (floor > min) {
            min = floor
            why = "policy"
          }
          if (b.tier >= min) return undefined
          if (flexible && b.tier >= floor) {
            // The best tier that can serve this model now; lower ones still step aside.
            const best = bestTier(registry.backendsFor(model), d.restricted || restrictedModel(cfg, model), true)
            if (best < min && b.tier >= best) return undefined
          }
          return { rule: "tier", reason: `tier: tier ${b.tier} is below the required tier ${min} (${SOURCE_WORDS[why]})`, requiredTier: min, tierSource: why }
        },
      }
    },
  }
}
