/**
 * Capability tier. The tier a request needs is `X-Nexus-Min-Tier`, else its policy's
 * `min_tier`, else the tier of the best backend that serves the model it asked for. In
 * the default strict mode no backend below it serves the request, fallbacks and
 * failover included: the request fails with the reason instead (never a silent
 * downgrade). `X-Nexus-Flexible: true` opts in to the best lower tier when nothing at
 * the needed tier can serve a model; the response then says so.
 * @module
 */
import { resolveAlias } from "../core/aliases.ts"
import { isRoutable } from "../core/backend.ts"
import { NexusError } from "../core/errors.ts"
import type { PolicyInput, PolicyStage } from "../core/policy.ts"
import type { RoutingConfig } from "../config/types.ts"
import type { Registry } from "../registry/registry.ts"
import { flag, policyFor } from "./rules.ts"

function headerTier(headers: Headers): number | NexusError | undefined {
  const raw = headers.get("x-nexus-min-tier")
  if (raw === null) return undefined
  const min = Number(raw.trim())
  if (Number.isInteger(min) && min >= 1 && min <= 5) return min
  return new NexusError({
    kind: "invalid_request",
    message: `X-Nexus-Min-Tier: expected an integer from 1 to 5, got ${JSON.stringify(raw.slice(0, 20))}`,
    code: "invalid_header",
    param: "x-nexus-min-tier",
  })
}

/** The tier this request needs, or undefined when no backend knows the model (a 404 follows). */
export function requiredTier(config: RoutingConfig, registry: Registry, input: Pick<PolicyInput, "model" | "headers">): number | undefined {
  const given = headerTier(input.headers)
  if (typeof given === "number") return given
  const policy = policyFor(config, input.model)?.min_tier
  if (policy !== undefined) return policy
  const serving = registry.backendsFor(resolveAlias(config.aliases, input.model))
  return serving.length ? Math.max(...serving.map((b) => b.tier)) : undefined
}

export function tier(config: () => RoutingConfig, registry: Registry): PolicyStage {
  return {
    name: "tier",
    check(input) {
      const given = headerTier(input.headers)
      if (given instanceof NexusError) return { reject: given }
      const needed = requiredTier(config(), registry, input)
      if (needed === undefined) return undefined
      const flexible = flag(input.headers, "x-nexus-flexible") && !flag(input.headers, "x-nexus-strict")
      return {
        exclude: (b, model) => {
          if (b.tier >= needed) return undefined
          if (flexible) {
            // The best tier that can serve this model now; lower ones still step aside.
            const best = Math.max(0, ...registry.backendsFor(model).filter(isRoutable).map((o) => o.tier))
            if (best < needed && b.tier >= best) return undefined
          }
          return `tier: tier ${b.tier} is below the required tier ${needed}`
        },
      }
    },
  }
}
