/**
 * The Hono application: every HTTP surface mounted on one app, with request ids,
 * OpenAI-envelope errors for everything (including 404 and our own bugs).
 * No `Bun.serve` in here, so the app is the same in tests and in production.
 * @module
 */
import { Hono } from "hono"
import { NexusError } from "../core/errors.ts"
import { ApiError } from "../errors.ts"
import { openaiErrorResponse } from "../ingress/openai/errors.ts"
import { proxied } from "./pipeline.ts"
import { rejectionHeader } from "./plan-error.ts"
import { adminRoutes } from "./admin.ts"
import { chatCompletions, completions, embeddings } from "../ingress/openai/endpoints.ts"
import type { AppDeps, Env } from "./deps.ts"
import { healthRoutes } from "./health.ts"
import { modelRoutes } from "./models.ts"
import { routePlanRoutes } from "./route-plan.ts"

/** Client-supplied request ids are echoed only when they are short and printable. */
const SAFE_ID = /^[\w.:@/+=-]{1,128}$/

export function createApp(deps: AppDeps) {
  const app = new Hono<Env>()

  app.use(async (c, next) => {
    const given = c.req.header("x-request-id")
    c.set("requestId", given && SAFE_ID.test(given) ? given : crypto.randomUUID())
    await next()
  })

  app.post("/v1/chat/completions", proxied(deps, chatCompletions))
  app.post("/v1/completions", proxied(deps, completions))
  app.post("/v1/embeddings", proxied(deps, embeddings))
  app.route("/", modelRoutes(deps))
  app.route("/", healthRoutes(deps))
  app.route("/", routePlanRoutes(deps))
  app.route("/", adminRoutes(deps))

  app.notFound((c) => {
    const err = new ApiError({
      status: 404,
      message: `Unknown route: ${c.req.method} ${c.req.path}`,
      type: "invalid_request_error",
      code: "unknown_route",
    })
    return err.toResponse({ "x-request-id": c.get("requestId") ?? "" })
  })

  app.onError((err, c) => {
    const requestId = c.get("requestId") ?? ""
    if (err instanceof ApiError) return err.toResponse({ "x-request-id": requestId })
    if (err instanceof NexusError) {
      const render = c.get("dialect")?.error ?? openaiErrorResponse
      return render(err, { "x-request-id": requestId, ...rejectionHeader(err) })
    }
    deps.log.error("unhandled error (a bug in Nexus)", {
      request_id: requestId,
      path: c.req.path,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    })
    return new ApiError({ status: 500, message: "Internal error in Nexus", code: "internal_error" }).toResponse({
      "x-request-id": requestId,
    })
  })

  return app
}
