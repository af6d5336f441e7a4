/**
 * Capability tier: a request that asks for `X-Nexus-Min-Tier: N` is only served by
 * backends of tier N or above. Never a silent downgrade: without one, the request fails
 * with the reason instead.
 * @module
 */
import { NexusError } from "../core/errors.ts"
import type { PolicyStage } from "../core/policy.ts"

export const tier: PolicyStage = {
  name: "tier",
  check({ headers }) {
    const raw = headers.get("x-nexus-min-tier")
    if (raw === null) return undefined
    const min = Number(raw.trim())
    if (!Number.isInteger(min) || min < 1 || min > 5) {
      return {
        reject: new NexusError({
          kind: "invalid_request",
          message: `X-Nexus-Min-Tier: expected an integer from 1 to 5, got ${JSON.stringify(raw.slice(0, 20))}`,
          code: "invalid_header",
          param: "x-nexus-min-tier",
        }),
      }
    }
    return { exclude: (b) => (b.tier >= min ? undefined : `tier ${b.tier} is below the requested minimum ${min}`) }
  },
}
