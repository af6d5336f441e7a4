/**
 * Privacy zone: a restricted request never leaves hardware the operator controls, so
 * backends in the open zone (cloud APIs) are excluded. A request is restricted when the
 * policy of its model says so, or when the client sends `X-Nexus-Privacy` with anything
 * but `open`: the header can tighten a request, never loosen one. The restriction of the
 * request's own model holds for all its fallbacks, and a fallback to a restricted model
 * carries that model's restriction. A request that continues a restricted conversation
 * (or one a restricted model answered) is restricted too, so nothing a restricted turn
 * saw or said is sent to the open zone later. The exclusion is read at every routing decision
 * (first choice, fallbacks, failover, each try from the queue), against the backend's
 * zone at that moment, so a reload that opens a zone is seen at once.
 * @module
 */
import type { BackendFilter, PolicyRefusal, PolicyStage } from "../core/policy.ts"
import type { RoutingConfig } from "../config/types.ts"
import { CONVERSATION, decide, restrictedModel } from "./rules.ts"

export const PRIVACY_REASON = "privacy: the request is restricted and this backend is in the open zone"

const OPEN_ZONE: PolicyRefusal = Object.freeze({ rule: "privacy", reason: PRIVACY_REASON })

const restrictedFilter: BackendFilter = (b) => (b.zone === "restricted" ? undefined : OPEN_ZONE)

const HELD: PolicyRefusal = Object.freeze({ rule: "privacy", reason: "privacy: the conversation this request continues holds restricted content and this backend is in the open zone" })
const heldFilter: BackendFilter = (b) => (b.zone === "restricted" ? undefined : HELD)

export function privacyZone(config: () => RoutingConfig): PolicyStage {
  return {
    name: "privacy_zone",
    check(input) {
      const cfg = config()
      const d = decide(cfg, input)
      if (d.restricted) {
        input.restricted = true
        return { exclude: d.restrictedBy === CONVERSATION ? heldFilter : restrictedFilter }
      }
      if (!cfg.policies.some((p) => p.privacy === "restricted")) return undefined
      // An open request may still fall back to a model that is restricted on its own.
      return {
        exclude: (b, model) =>
          b.zone === "restricted" || !restrictedModel(cfg, model)
            ? undefined
            : { rule: "privacy", reason: `privacy: model ${model} is restricted and this backend is in the open zone` },
      }
    },
  }
}
