/**
 * `POST /v1/chat/completions`: validate, plan, forward with failover, and report the
 * routing facts in `X-Nexus-*` headers. Bodies pass through; only `model` may change.
 * @module
 */
import type { Context } from "hono"
import { ApiError } from "../errors.ts"
import { recordOutcome } from "../observability/record.ts"
import { forward } from "../proxy/forward.ts"
import { isCloud } from "../registry/types.ts"
import { chatRequirements } from "../routing/requirements.ts"
import type { Exclusion, Plan } from "../routing/router.ts"
import { parseJsonObject, readBodyText } from "./body.ts"
import type { AppDeps, Env } from "./deps.ts"
import { ChatRequest, validate } from "./validate.ts"

const HEARTBEAT_MS = 5000

export function chatCompletions(deps: AppDeps) {
  return async (c: Context<Env>): Promise<Response> => {
    const started = performance.now()
    const requestId = c.get("requestId")
    const config = deps.config()
    const text = await readBodyText(c.req.raw, config.server.max_body_bytes)
    const body = parseJsonObject(text)
    const chat = validate(ChatRequest, body)
    const stream = chat.stream === true

    let plan = deps.router.plan(chat.model, chatRequirements(body))
    if (!plan.ok && plan.kind === "not_found") {
      // Right after start the first probes may still be learning the model lists.
      await deps.firstProbe
      plan = deps.router.plan(chat.model, chatRequirements(body))
    }
    if (!plan.ok) throw planError(plan)

    deps.noIdleTimeout(c.req.raw)
    const result = await forward(
      {
        requestId,
        path: "/chat/completions",
        body: text,
        model: chat.model,
        stream,
        clientHeaders: c.req.raw.headers,
        clientSignal: c.req.raw.signal,
        attempts: plan.attempts,
        maxAttempts: config.routing.max_retries + 1,
        firstByteTimeoutMs: config.server.first_byte_timeout_seconds * 1000,
        deadline: started + config.server.request_timeout_seconds * 1000,
        heartbeatMs: HEARTBEAT_MS,
      },
      (outcome) =>
        recordOutcome(deps, { requestId, model: chat.model, stream, started, routeReason: reasonOf(plan, outcome.failures.length) }, outcome)
    )

    const res = result.response
    const attempt = result.attempt
    if (attempt) {
      const b = attempt.backend
      res.headers.set("x-nexus-backend", b.name)
      res.headers.set("x-nexus-backend-type", isCloud(b.type, b.url) ? "cloud" : "local")
      res.headers.set("x-nexus-route-reason", reasonOf(plan, result.failures.length))
      res.headers.set("x-nexus-model", attempt.model)
      if (attempt.fallbackFrom) res.headers.set("x-nexus-fallback-model", attempt.model)
    }
    res.headers.set("x-request-id", requestId)
    return res
  }
}

function reasonOf(plan: Plan, failures: number): string {
  if (!plan.ok) return "none"
  return failures > 0 ? "failover" : plan.reason
}

/** 404 for a model nobody serves; 503 with every backend's reason otherwise. */
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
  return new ApiError({
    status: 503,
    message: `No backend can serve model '${model}' right now: ${summarise(plan.excluded)}`,
    type: "server_error",
    code: "no_backend_available",
    context: {
      model: plan.requested,
      resolved_model: plan.resolved,
      backends: plan.excluded.map((e) => ({ backend: e.backend, model: e.model, reason: e.reason })),
    },
    headers: { "x-nexus-rejection-reasons": headerSafe(summarise(plan.excluded)) },
  })
}

function summarise(excluded: Exclusion[]): string {
  if (!excluded.length) return "no backend lists it"
  return excluded.map((e) => `${e.backend}: ${e.reason}`).join("; ").replace(/[\r\n]+/g, " ")
}

/** Header values must be Latin-1 without control characters; keep them short. */
function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, "?").slice(0, 1000)
}
