/**
 * `[[routing.policies]]` and the client's `X-Nexus-*` headers, decided once per request on
 * the model the router resolves. A policy applies to a model when its `model_pattern`
 * matches any name the router treats as that model (`x` and `x:latest`, any case). The
 * request's own policy is the stricter of the policies of the name asked for and the
 * resolved name, so neither an alias nor a spelling dodges it. Headers only tighten.
 * @module
 */
import { NexusError } from "../core/errors.ts"
import { modelMatch } from "../core/glob.ts"
import type { PolicyInput } from "../core/policy.ts"
import type { RoutingConfig, RoutingPolicy } from "../config/types.ts"

/** What one request must respect, whatever candidate or fallback serves it. */
export interface Decision {
  /** Restricted by its model's policy, its API key, `X-Nexus-Privacy` or the conversation it continues: no open-zone backend, fallbacks included. */
  restricted: boolean
  /** Why it is restricted, for the refusal (`CONVERSATION` when only what it continues is). */
  restrictedBy?: string
  /** The operator's floor (policy `min_tier`): no client header lowers it. */
  policyTier?: number
  /** `X-Nexus-Min-Tier`: raises the floor, never lowers it. */
  headerTier?: number
  /** A malformed header: the request is refused with it. */
  error?: NexusError
}

/** `restrictedBy` of a request restricted only by the earlier answers it continues. */
export const CONVERSATION = "the conversation it continues"

/** Nothing configured and no header: nearly every request. */
const FREE: Decision = Object.freeze({ restricted: false })
const decided = new WeakMap<PolicyInput, Decision>()

/** The first policy that applies to `model` (any of its name variants, case-insensitive). */
export function policyFor(config: RoutingConfig, model: string): RoutingPolicy | undefined {
  if (config.policies.length === 0) return undefined
  return config.policies.find((p) => modelMatch(p.model_pattern, model))
}

/** Whether a candidate's own model is restricted by policy (a fallback carries its own). */
export function restrictedModel(config: RoutingConfig, model: string): boolean {
  return policyFor(config, model)?.privacy === "restricted"
}

/** The request's decision, computed on first use and read by every stage after. */
export function decide(config: RoutingConfig, input: PolicyInput): Decision {
  const { headers } = input
  const privacy = headers.get("x-nexus-privacy")
  const tier = headers.get("x-nexus-min-tier")
  if (config.policies.length === 0 && privacy === null && tier === null && input.key?.privacy !== "restricted" && !input.continues?.restricted) return FREE
  let d = decided.get(input)
  if (d) return d
  d = compute(config, input, privacy, tier)
  decided.set(input, d)
  return d
}

function compute(config: RoutingConfig, input: PolicyInput, privacy: string | null, tier: string | null): Decision {
  const asked = policyFor(config, input.model)
  const resolved = input.resolved === input.model ? asked : policyFor(config, input.resolved)
  const d: Decision = { restricted: false }
  for (const p of [asked, resolved]) {
    if (p?.privacy === "restricted" && !d.restricted) {
      d.restricted = true
      d.restrictedBy = `policy "${p.model_pattern}"`
    }
    if (p?.min_tier !== undefined && p.min_tier > (d.policyTier ?? 0)) d.policyTier = p.min_tier
  }
  if (input.key?.privacy === "restricted" && !d.restricted) {
    d.restricted = true
    d.restrictedBy = `API key '${input.key.name}'`
  }
  // Restriction is sticky along a conversation: what a restricted turn saw or said stays home.
  const c = input.continues
  if (c && !d.restricted && (c.restricted || c.models.some((m) => restrictedModel(config, m)))) {
    d.restricted = true
    d.restrictedBy = CONVERSATION
  }
  // Only a clean `open` leaves the request as its policy has it; anything else (a typo, a
  // quoted or repeated value) is read as the stricter choice.
  if (privacy !== null && privacy.trim().toLowerCase() !== "open" && !d.restricted) {
    d.restricted = true
    d.restrictedBy = "X-Nexus-Privacy"
  }
  if (tier !== null) {
    const min = Number(tier.trim())
    if (tier.trim() !== "" && Number.isInteger(min) && min >= 1 && min <= 5) d.headerTier = min
    else
      d.error = new NexusError({
        kind: "invalid_request",
        message: `X-Nexus-Min-Tier: expected an integer from 1 to 5, got ${JSON.stringify(tier.slice(0, 20))}`,
        code: "invalid_header",
        param: "x-nexus-min-tier",
      })
  }
  return d
}

/** A header whose value is `true` (case-insensitive). */
export function flag(headers: Headers, name: string): boolean {
  return headers.get(name)?.trim().toLowerCase() === "true"
}
