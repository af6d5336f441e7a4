/**
 * The Hono application: every HTTP surface mounted on one app, with request ids,
 * OpenAI-envelope errors for everything (including 404, 405 and our own bugs).
 * No `Bun.serve` in here, so the app is the same in tests and in production.
 * @module
 */
import { Hono, type Context } from "hono"
import { getPath } from "hono/utils/url"
import { NexusError } from "../core/errors.ts"
import { openaiErrorResponse } from "../ingress/openai/errors.ts"
import { proxied } from "./pipeline.ts"
import { rejectionHeader } from "./plan-error.ts"
import { adminRoutes } from "./admin.ts"
import { chatCompletions, completions, embeddings } from "../ingress/openai/endpoints.ts"
import { messages } from "../ingress/anthropic/endpoints.ts"
import { countTokensRoutes } from "./count-tokens.ts"
import { responses } from "../ingress/responses/endpoints.ts"
import { ClientClosed, isAbort } from "./body.ts"
import { answeredByNexus } from "../observability/record.ts"
import type { AppDeps, Env } from "./deps.ts"
import { healthRoutes } from "./health.ts"
import { modelRoutes } from "./models.ts"
import { ollamaRoutes } from "./ollama.ts"
import { routePlanRoutes } from "./route-plan.ts"
import { dashboardRoutes } from "./dashboard.ts"
import { eventRoutes } from "./events.ts"

/** Client-supplied request ids are echoed only when they are short and printable. */
const SAFE_ID = /^[\w.:@/+=-]{1,128}$/

/** Methods some route answers; anything else on a known path is a 405. */
const METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH"] as const

/**
 * Bun hands over a bare path as `req.url` when the Host header is missing or unusable
 * (an HTTP/1.0 health check sends none), and Hono then routes `/health` as `h`.
 */
function pathOf(req: Request): string {
  return req.url.charCodeAt(0) === 47 ? getPath({ url: `http://nexus.invalid${req.url}` } as Request) : getPath(req)
}

/** The text of an error for the log; Bun's DOMExceptions have an empty stack. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  return err.stack && err.stack.includes(err.message) ? err.stack : `${err.name}: ${err.message}${err.stack ? `\n${err.stack}` : ""}`
}

export function createApp(deps: AppDeps) {
  const app = new Hono<Env>({ getPath: pathOf })

  app.use(async (c, next) => {
    const given = c.req.raw.headers.get("x-request-id")
    c.set("requestId", given && SAFE_ID.test(given) ? given : crypto.randomUUID())
    c.set("started", performance.now())
    await next()
  })
  // First, so a browser gets the page at `/` whatever else answers `/` (the dashboard
  // passes every non-browser request at `/` on to the routes below).
  app.route("/", dashboardRoutes(deps))
  app.route("/", eventRoutes(deps))

  app.post("/v1/chat/completions", proxied(deps, chatCompletions))
  app.post("/v1/completions", proxied(deps, completions))
  app.post("/v1/embeddings", proxied(deps, embeddings))
  app.post("/v1/messages", proxied(deps, messages))
  app.post("/v1/responses", proxied(deps, responses))
  app.route("/", countTokensRoutes(deps))
  app.route("/", ollamaRoutes(deps))
  app.route("/", modelRoutes(deps))
  app.route("/", healthRoutes(deps))
  app.route("/", routePlanRoutes(deps))
  app.route("/", adminRoutes(deps))

  /** The methods with a route for `path` (middleware, registered for ALL, does not count). */
  const allowed = (path: string) =>
    METHODS.filter((m) => app.router.match(m, path)[0].some(([[, route]]) => route.method !== "ALL"))

  app.notFound((c) => {
    const methods = allowed(c.req.path)
    const headers: Record<string, string> = { "x-request-id": c.get("requestId") ?? "" }
    if (methods.length === 0) {
      const err = new NexusError({ kind: "unknown_route", message: `Unknown route: ${c.req.method} ${c.req.path}`, code: "unknown_route" })
      record(deps, c, err.status, err)
      return openaiErrorResponse(err, headers)
    }
    const allow = methods.includes("GET") ? [...methods, "HEAD"] : methods
    const message = `${c.req.method} is not allowed on ${c.req.path}; use ${allow.join(" or ")}.`
    const err = new NexusError({ kind: "method_not_allowed", message, code: "method_not_allowed" })
    record(deps, c, err.status, err)
    return openaiErrorResponse(err, { ...headers, allow: allow.join(", ") })
  })

  app.onError((err, c) => {
    const requestId = c.get("requestId") ?? ""
    if (err instanceof NexusError) {
      if (err.kind === "client_closed") clientClosed(deps, c, "queue")
      record(deps, c, err.kind === "client_closed" ? 499 : err.status, err)
      const render = c.get("dialect")?.error ?? openaiErrorResponse
      return render(err, { "x-request-id": requestId, ...rejectionHeader(err), ...deps.spend.headers() })
    }
    if (err instanceof ClientClosed || (isAbort(err) && c.req.raw.signal.aborted)) {
      clientClosed(deps, c, err instanceof ClientClosed ? err.stage : "handler")
      record(deps, c, 499, { code: "client_closed", message: "client closed the request" })
      // Nobody is left to read it; Hono still wants a response.
      return openaiErrorResponse(new NexusError({ kind: "client_closed", message: "client closed the request", code: "client_closed" }))
    }
    deps.log.error("unhandled error (a bug in Nexus)", {
      request_id: requestId,
      path: c.req.path,
      error: describeError(err),
    })
    const internal = new NexusError({ kind: "internal", message: "Internal error in Nexus", code: "internal_error" })
    record(deps, c, internal.status, internal)
    return openaiErrorResponse(internal, { "x-request-id": requestId })
  })

  return app
}

/**
 * The one record of a request Nexus answered itself (metrics, stats, the log line and
 * the dashboard all read it); none when forward() already reports the request.
 */
function record(deps: AppDeps, c: Context<Env>, status: number, err: { code?: string | null; kind?: string; message: string }): void {
  if (c.get("recorded")) return
  c.set("recorded", true)
  const endpoint = c.get("dialect")
  const asked = c.get("asked")
  const ctx = {
    requestId: c.get("requestId") ?? "",
    dialect: endpoint?.dialect ?? "openai",
    operation: endpoint?.operation,
    model: asked?.model ?? "",
    stream: asked?.stream ?? false,
    started: c.get("started") ?? performance.now(),
  }
  deps.requests.emit(answeredByNexus(ctx, status, err))
}

/** A client that leaves is counted and noted at debug level: one per request, never an error. */
function clientClosed(deps: AppDeps, c: Context<Env>, stage: ClientClosed["stage"]): void {
  deps.metrics.clientDisconnects.inc({ stage })
  deps.log.debug("client closed the connection", { request_id: c.get("requestId"), path: c.req.path, stage })
}
