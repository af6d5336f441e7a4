/**
 * Turning a routing refusal into an error that says what to do: 404 for a model nobody
 * serves, 400 when the model cannot do what the request asks (retrying cannot help),
 * 503 with every backend's reason otherwise.
 * @module
 */
import { NexusError } from "../core/errors.ts"
import { LEDGER_UNREADABLE } from "../policy/budget.ts"
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
    const largest = windows.reduce((a, b) => (b.contextLength! > a.contextLength! ? b : a))
    return new NexusError({
      kind: "invalid_request",
      message:
        `The prompt does not fit any backend serving '${model}': the largest context available is ` +
        `${largest.contextLength} tokens (${largest.backend}, ${largest.model}). ${summary}`,
      code: "context_length_exceeded",
      param: "messages",
      context,
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
 * excluded by privacy, tier or budget), say which one, and what was excluded for it.
 */
function policyRefusal(excluded: Exclusion[], model: string, summary: string, context: Record<string, unknown>): NexusError | undefined {
  const blocking = excluded.filter((e) => e.kind !== "capability" && e.kind !== "health" && e.kind !== "breaker")
  if (!blocking.length || !blocking.every((e) => e.kind === "policy")) return undefined
  const by = (prefix: string) => blocking.filter((e) => e.reason.startsWith(prefix))
  const privacy = by("privacy:")
  if (privacy.length === blocking.length) {
    const names = privacy.map((e) => e.backend).join(", ")
    return new NexusError({
      kind: "unavailable",
      message: `Request for model '${model}' is restricted (privacy policy or X-Nexus-Privacy): it may only go to restricted-zone backends, and none can serve it; excluded for their open zone: ${names}. ${summary}`,
      code: "privacy_zone_restricted",
      context: { ...context, privacy: "restricted", privacy_zone_required: "restricted", excluded_for_zone: privacy.map((e) => e.backend) },
    })
  }
  const tier = by("tier:")
  if (tier.length && tier.length + privacy.length === blocking.length) {
    const required = Number(/required tier (\d)/.exec(tier[0]!.reason)?.[1])
    return new NexusError({
      kind: "unavailable",
      message: `Model '${model}' needs capability tier ${required}; no backend at that tier can serve it (strict mode; send X-Nexus-Flexible: true to accept a lower tier). ${summary}`,
      code: "tier_unavailable",
      context: { ...context, required_tier: required, available: tier.map((e) => e.backend) },
    })
  }
  const budget = by("budget:")
  if (budget.length) {
    return new NexusError({
      kind: "unavailable",
      message: `No backend can serve model '${model}': ${budget[0]!.reason.slice(8)}. ${summary}`,
      code: budget[0]!.reason.startsWith(LEDGER_UNREADABLE) ? "budget_ledger_unreadable" : "budget_exhausted",
      context,
    })
  }
  return undefined
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
