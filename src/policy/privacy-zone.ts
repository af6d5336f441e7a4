/**
 * Privacy zone: a restricted request never leaves hardware the operator controls, so
 * backends in the open zone (cloud APIs) are excluded. A request is restricted when its
 * policy says so, or when the client sends `X-Nexus-Privacy: restricted`: the header can
 * tighten a request, never loosen one. The exclusion is read at every routing decision
 * (first choice, fallbacks, failover, each try from the queue), against the backend's
 * zone at that moment, so a reload that opens a zone is seen at once.
 * @module
 */
import type { BackendFilter, PolicyStage } from "../core/policy.ts"
import type { RoutingConfig } from "../config/types.ts"
import { policyFor } from "./rules.ts"

export const PRIVACY_REASON = "privacy: the request is restricted and this backend is in the open zone"

export function isRestricted(config: RoutingConfig, model: string, headers: Headers): boolean {
  if (headers.get("x-nexus-privacy")?.trim().toLowerCase() === "restricted") return true
  return policyFor(config, model)?.privacy === "restricted"
}

export const restrictedFilter: BackendFilter = (b) => (b.zone === "restricted" ? undefined : PRIVACY_REASON)

export function privacyZone(config: () => RoutingConfig): PolicyStage {
  return {
    name: "privacy_zone",
    check({ model, headers }) {
      return isRestricted(config(), model, headers) ? { exclude: restrictedFilter } : undefined
    },
  }
}
