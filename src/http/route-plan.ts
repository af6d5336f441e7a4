/**
 * `POST /v1/nexus/route`: "why would this request go there?" Takes a chat request
 * and returns the routing plan without sending anything upstream.
 * @module
 */
import { Hono } from "hono"
import { chatRequirements } from "../ingress/openai/requirements.ts"
import { parseJsonObject, readBodyText } from "./body.ts"
import type { AppDeps, Env } from "./deps.ts"
import { openaiErrorBody } from "../ingress/openai/errors.ts"
import { planError } from "./plan-error.ts"
import { NexusError } from "../core/errors.ts"
import { applyPolicy, verdicts } from "../policy/index.ts"
import { ChatRequest, validate } from "../ingress/openai/validate.ts"

export function routePlanRoutes(deps: Pick<AppDeps, "config" | "registry" | "router" | "spend" | "stages">) {
  const app = new Hono<Env>()
  app.post("/v1/nexus/route", async (c) => {
    const { max_body_bytes, request_timeout_seconds } = deps.config().server
    const body = parseJsonObject(await readBodyText(c.req.raw, max_body_bytes, request_timeout_seconds * 1000))
    const chat = validate(ChatRequest, body)
    const needs = chatRequirements(body)
    const input = { model: chat.model, resolved: deps.router.resolve(chat.model), headers: c.req.raw.headers, operation: "chat" as const, key: c.get("scope").key }
    // Each stage's verdict per backend, beside the router's own reasons.
    const verdictOf = verdicts(input, deps.stages)
    const policyOf = (name: string, model: string) => {
      const b = deps.registry.list().find((x) => x.name === name)
      return b ? { backend_zone: b.zone, backend_tier: b.tier, ...verdictOf(b, model) } : null
    }
    let filters: ReturnType<typeof applyPolicy>
    try {
      filters = applyPolicy(input, deps.stages)
    } catch (err) {
      if (!(err instanceof NexusError)) throw err
      return c.json({ routable: false, requested: chat.model, requirements: needs, error: (openaiErrorBody(err) as { error: unknown }).error, excluded: [], waitable: false, budget: deps.spend.stats() })
    }
    const plan = deps.router.plan(chat.model, needs, filters)
    if (!plan.ok) {
      const err = planError(plan)
      return c.json(
        {
          routable: false,
          requested: chat.model,
          requirements: needs,
          error: (openaiErrorBody(err) as { error: unknown }).error,
          excluded: plan.kind === "unavailable" ? plan.excluded.map((e) => ({ ...e, policy: policyOf(e.backend, e.model) })) : [],
          waitable: plan.kind === "unavailable" ? plan.waitable : false,
          budget: deps.spend.stats(),
        },
        200
      )
    }
    return c.json({
      routable: true,
      requested: plan.requested,
      resolved: plan.resolved,
      reason: plan.reason,
      requirements: needs,
      candidates: plan.attempts.map((a, i) => ({
        rank: i + 1,
        backend: a.backend.name,
        model: a.model,
        score: a.score,
        fallback_from: a.fallbackFrom ?? null,
        in_flight: a.backend.stats.inFlight,
        max_concurrent: a.backend.maxConcurrent ?? null,
        ttft_ewma_ms: a.backend.stats.ttftEwmaMs ?? null,
        error_rate: Math.round(a.backend.stats.errorRate * 1000) / 1000,
        loaded: a.backend.models.get(a.model)?.loaded ?? null,
        policy: policyOf(a.backend.name, a.model),
      })),
      excluded: plan.excluded.map(({ backend, model, reason, kind }) => ({ backend, model, reason, kind, policy: policyOf(backend, model) })),
      budget: deps.spend.stats(),
    })
  })
  return app
}
