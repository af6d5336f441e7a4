/**
 * Turning a routing refusal into an error that says what to do: 404 for a model
 * nobody serves, 503 with every backend's reason otherwise.
 * @module
 */
import { ApiError } from "../errors.ts"
import type { Exclusion, Plan } from "../routing/router.ts"

export function planError(plan: Exclude<Plan, { ok: true }>): ApiError {
  if (plan.kind === "not_found") {
    const list = plan.available.length ? plan.available.join(", ") : "none (no healthy backend lists any model)"
    return new ApiError({
      status: 404,
      message: `Model '${plan.requested}' not found. Available models: ${list}`,
      type: "invalid_request_error",
      code: "model_not_found",
      param: "model",
    })
  }
  const model = plan.resolved === plan.requested ? plan.requested : `${plan.requested} (-> ${plan.resolved})`
  const summary = summarise(plan.excluded)
  return new ApiError({
    status: 503,
    message: `No backend can serve model '${model}' right now: ${summary}`,
    type: "server_error",
    code: "no_backend_available",
    context: {
      model: plan.requested,
      resolved_model: plan.resolved,
      backends: plan.excluded.map((e) => ({ backend: e.backend, model: e.model, reason: e.reason })),
    },
    headers: { "x-nexus-rejection-reasons": headerSafe(summary) },
  })
}

function summarise(excluded: Exclusion[]): string {
  if (!excluded.length) return "no backend lists it"
  return excluded.map((e) => `${e.backend}: ${e.reason}`).join("; ")
}

/** Header values must be printable ASCII; keep them short. */
function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, "?").slice(0, 1000)
}
