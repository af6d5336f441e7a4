/**
 * Turning a routing refusal into an error that says what to do: 404 for a model nobody
 * serves, 400 when the model cannot do what the request asks (retrying cannot help),
 * 503 with every backend's reason otherwise.
 * @module
 */
import { NexusError } from "../core/errors.ts"
import type { Exclusion, Plan } from "../routing/router.ts"

export function planError(plan: Exclude<Plan, { ok: true }>): NexusError {
  if (plan.kind === "not_found") {
    const list = plan.available.length ? plan.available.join(", ") : "none (no healthy backend lists any model)"
    return new NexusError({
      kind: "not_found",
      message: `Model '${plan.requested}' not found. Available models: ${list}`,
      code: "model_not_found",
      param: "model",
    })
  }
  const model = plan.resolved === plan.requested ? plan.requested : `${plan.requested} (-> ${plan.resolved})`
  const summary = summarise(plan.excluded)
  const context = {
    model: plan.requested,
    resolved_model: plan.resolved,
    backends: plan.excluded.map((e) => ({ backend: e.backend, model: e.model, reason: e.reason })),
  }
  const windows = plan.excluded.filter((e) => e.contextLength !== undefined)
  if (windows.length > 0 && windows.length === plan.excluded.length) {
    // Only the prompt counts here (the output budget is clamped), so nothing but a larger
    // model or a shorter prompt can help.
    // The wording starts as OpenAI's own, and the numbers travel in the context, so each
    // dialect can say it the way its agents recognise (and compact the conversation).
    const largest = windows.reduce((a, b) => (b.contextLength! > a.contextLength! ? b : a))
    const need = largest.promptTokens ?? 0
    return new NexusError({
      kind: "invalid_request",
      message:
        `This model's maximum context length is ${largest.contextLength} tokens. However, your messages resulted in ~${need} tokens. ` +
        `Please reduce the length of the messages. (No backend serving '${model}' has a larger window: ${summary})`,
      code: "context_length_exceeded",
      param: "messages",
      context: { ...context, prompt_tokens: need, context_length: largest.contextLength },
    })
  }
  if (plan.excluded.length > 0 && plan.excluded.every((e) => e.kind === "capability")) {
    return new NexusError({
      kind: "invalid_request",
      message: `Model '${model}' cannot serve this request: ${summary}`,
      code: "model_not_capable",
      param: "model",
      context,
    })
  }
  const policy = policyRefusal(plan.excluded, model, summary, context)
  if (policy) return policy
  return new NexusError({
    kind: "unavailable",
    message: `No backend can serve model '${model}' right now: ${summary}`,
    code: "no_backend_available",
    context,
  })
}

/**
 * When a policy is what stands in the way (every backend that could otherwise serve was
 * excluded by privacy, tier or budget), say which rule excluded which backend, and what
 * would allow the request.
 */
function policyRefusal(excluded: Exclusion[], model: string, summary: string, context: Record<string, unknown>): NexusError | undefined {
  const blocking = excluded.filter((e) => e.kind !== "capability" && e.kind !== "health" && e.kind !== "breaker")
  if (!blocking.length || !blocking.every((e) => e.kind === "policy")) return undefined
  const by = (rule: Exclusion["rule"]) => blocking.filter((e) => e.rule === rule)
  const privacy = by("privacy")
  const tier = by("tier")
  const budget = by("budget")
  const names = (list: Exclusion[]) => [...new Set(list.map((e) => e.backend))]
  const excludedBy = {
    ...(privacy.length ? { privacy_zone: names(privacy) } : {}),
    ...(tier.length ? { tier: names(tier) } : {}),
    ...(budget.length ? { budget: names(budget) } : {}),
  }
  const remedies = remediesFor(privacy, tier, budget)
  const fix = remedies.length ? ` It would be allowed by ${remedies.join("; or ")}.` : ""
  const full = { ...context, excluded_by: excludedBy, remedies }
  if (privacy.length === blocking.length) {
    return new NexusError({
      kind: "unavailable",
      message: `Request for model '${model}' is restricted (privacy policy, API key, X-Nexus-Privacy, or a continued conversation that holds restricted content): it may only go to restricted-zone backends, and none can serve it; excluded for their open zone: ${names(privacy).join(", ")}.${fix} ${summary}`,
      code: "privacy_zone_restricted",
      context: { ...full, privacy: "restricted", privacy_zone_required: "restricted", excluded_for_zone: names(privacy) },
    })
  }
  if (budget.length) {
    return new NexusError({
      kind: "unavailable",
      message: `No backend can serve model '${model}': ${budget[0]!.reason.replace(/^budget: /, "")}.${fix} ${summary}`,
      code: budget[0]!.ledgerUnreadable ? "budget_ledger_unreadable" : "budget_exhausted",
      context: full,
    })
  }
  if (!tier.length) return undefined
  const required = Math.max(...tier.map((e) => e.requiredTier ?? 0))
  const zone = privacy.length ? ` (excluded for their open zone: ${names(privacy).join(", ")})` : ""
  return new NexusError({
    kind: "unavailable",
    message: `Model '${model}' needs capability tier ${required}; no backend at that tier can serve it${zone}.${fix} ${summary}`,
    code: "tier_unavailable",
    context: { ...full, required_tier: required, available: names(tier) },
  })
}

/** What would let a request through, from the rules that excluded its backends. */
function remediesFor(privacy: Exclusion[], tier: Exclusion[], budget: Exclusion[]): string[] {
  const out: string[] = []
  const tierFrom = (source: Exclusion["tierSource"]) => tier.some((e) => e.tierSource === source)
  if (tierFrom("best")) out.push("X-Nexus-Flexible: true (accept the best lower tier)")
  if (tierFrom("header")) out.push("a lower X-Nexus-Min-Tier")
  if (tierFrom("policy")) out.push("a lower min_tier in the model's [[routing.policies]] entry")
  if (privacy.length) out.push("a healthy restricted-zone backend serving the model")
  if (budget.some((e) => e.ledgerUnreadable)) out.push("a readable spend ledger (or routing.budget.on_ledger_error = \"open\")")
  else if (budget.length) out.push("a higher routing.budget.monthly_limit_usd (or the next month)")
  return out
}

/** Errors that mean no attempt succeeded (not a backend's own 4xx, not the client leaving). */
const EXHAUSTED: ReadonlySet<NexusError["kind"]> = new Set(["upstream_failed", "timeout", "unavailable", "rate_limited"])

/**
 * Every attempt failed, but the plan had skipped candidates for policy (a fallback on the
 * cloud for a restricted request): the error says so rather than hide them.
 */
export function withPolicySkips(err: NexusError, excluded: readonly Exclusion[]): NexusError {
  if (!EXHAUSTED.has(err.kind)) return err
  const skipped = excluded.filter((e) => e.kind === "policy")
  // Boxes left out because loading there would evict a pinned or busy model: why no failover went there.
  const placed = excluded.filter((e) => e.kind === "placement")
  if (!skipped.length && !placed.length) return err
  const list = (es: Exclusion[]) => es.map((e) => `${e.backend} (${e.model}): ${e.reason}`).join("; ")
  const pairs = (es: Exclusion[]) => es.map(({ backend, model, reason }) => ({ backend, model, reason }))
  let message = err.message
  if (skipped.length) message += `; skipped by policy: ${list(skipped)}`
  if (placed.length) message += `; not tried: ${list(placed)}`
  return new NexusError({
    kind: err.kind,
    status: err.status,
    code: err.code,
    param: err.param,
    retryAfterSeconds: err.retryAfterSeconds,
    message,
    context: { ...err.context, ...(skipped.length ? { skipped_by_policy: pairs(skipped) } : {}), ...(placed.length ? { not_tried: pairs(placed) } : {}) },
  })
}

/** The reasons in one line, for the `X-Nexus-Rejection-Reasons` header. */
export function rejectionHeader(err: NexusError): Record<string, string> {
  const backends = (err.context?.backends ?? []) as { backend: string; reason: string }[]
  if (!backends.length) return {}
  return { "x-nexus-rejection-reasons": headerSafe(summarise(backends as Exclusion[])) }
}

function summarise(excluded: Pick<Exclusion, "backend" | "reason">[]): string {
  if (!excluded.length) return "no backend lists it"
  return excluded.map((e) => `${e.backend}: ${e.reason}`).join("; ")
}

/** Header values must be printable ASCII; keep them short. */
function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, "?").slice(0, 1000)
}
