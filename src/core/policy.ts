/**
 * The shape every policy stage has (API keys, rate limits, privacy zone, tier, budget):
 * given the request, either reject it outright or name the backends it must not go to,
 * with a reason. The router takes exclusions like any other, so the route explainer
 * shows policy decisions for free.
 * @module
 */
import type { Backend } from "./backend.ts"
import type { NexusError } from "./errors.ts"
import type { CanonicalRequest } from "./request.ts"

/**
 * Why a policy keeps a backend from a model: which rule, the words shown to people, and
 * the facts an error needs to say what would help (read from here, never from the words).
 */
export interface PolicyRefusal {
  rule: "api_key" | "privacy" | "tier" | "budget"
  reason: string
  /** tier: the tier the request needs. */
  requiredTier?: number
  /** tier: where that need comes from, and so what would lower it. */
  tierSource?: "policy" | "header" | "best"
  /** budget: the spend ledger cannot be read (rather than a limit reached). */
  ledgerUnreadable?: boolean
}

/**
 * Why `backend` may not serve `model` for this request, or undefined when it may. `model`
 * is the candidate's own (resolved) model: the request's, or one of its fallbacks.
 */
export type BackendFilter = (backend: Backend, model: string) => PolicyRefusal | undefined

export type PolicyVerdict = { reject: NexusError } | { exclude: BackendFilter } | undefined

/**
 * What a stage sees: the request (headers included) and the model the router resolved;
 * and where it keeps a decision a later step reads (`tier`, `restricted`), so it is made once.
 */
export type PolicyInput = Pick<CanonicalRequest, "model" | "resolved" | "headers" | "operation" | "key" | "tier" | "continues" | "restricted">

export interface PolicyStage {
  /** Shown in exclusion reasons and logs. */
  name: string
  check(input: PolicyInput): PolicyVerdict
}
