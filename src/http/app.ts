/**
 * The HTTP front door: every surface on one handler, with request ids and errors in the
 * client's envelope (including 404, 405 and our own bugs). Proxied POSTs, nearly all of
 * the traffic, go straight to their pipeline: Hono's context, middleware chain and
 * router cost about as much CPU as the rest of the request. Everything else is the Hono
 * app. No `Bun.serve` in here, so the handler is the same in tests and in production.
 * @module
 */
import { Hono } from "hono"
import { getPath } from "hono/utils/url"
import { NexusError } from "../core/errors.ts"
import { CANONICAL, DIALECTS, dialectOf } from "../ingress/index.ts"
import type { IngressEndpoint } from "../ingress/types.ts"
import { adminRoutes } from "./admin.ts"
import { fleetRoutes } from "./fleet-admin.ts"
import { crossSite, crossSiteOrigin, hostCheck, isSafeMethod, misdirected } from "./browser-guard.ts"
import { dashboardRoutes } from "./dashboard.ts"
import type { AppDeps, Env } from "./deps.ts"
import { gate } from "./auth.ts"
import { answerError, record } from "./error-answer.ts"
import { keyRoutes } from "./keys.ts"
import { eventRoutes } from "./events.ts"
import { healthRoutes } from "./health.ts"
import { ingressDeps } from "./ingress-deps.ts"
import { modelRoutes } from "./models.ts"
import { pipeline } from "./pipeline.ts"
import { routePlanRoutes } from "./route-plan.ts"
import { openScope } from "./scope.ts"
import { viewerRoutes } from "./viewer.ts"

/** Every proxied route, by the dialect it speaks. */
const PROXIED: readonly (readonly [string, IngressEndpoint])[] = DIALECTS.flatMap((d) => Object.entries(d.endpoints))

/** The envelope of errors no dialect claims. */
const defaultError = CANONICAL.errors.error

/** Methods some route answers; anything else on a known path is a 405. */
const METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH"] as const

/**
 * Bun hands over a bare path as `req.url` when the Host header is missing or unusable
 * (an HTTP/1.0 health check sends none), and Hono then routes `/health` as `h`.
 */
function pathOf(req: Request): string {
  return req.url.charCodeAt(0) === 47 ? getPath({ url: `http://nexus.invalid${req.url}` } as Request) : getPath(req)
}

/** The path of a URL as Bun gives it, undecoded, without the query. */
function rawPath(url: string): string {
  const start = url.charCodeAt(0) === 47 ? 0 : url.indexOf("/", url.indexOf("//") + 2)
  if (start < 0) return "/"
  const query = url.indexOf("?", start)
  return query < 0 ? url.slice(start) : url.slice(start, query)
}

export interface Handler {
  fetch(req: Request): Response | Promise<Response>
}

export function createApp(deps: AppDeps): Handler {
  const app = new Hono<Env>({ getPath: pathOf })
  const direct = new Map<string, ReturnType<typeof pipeline>>()
  const dialects = new Map<string, IngressEndpoint>(PROXIED)
  const hosts = hostCheck(deps.config)

  app.use(async (c, next) => {
    const scope = openScope(c.req.raw, c.req.path)
    c.set("scope", scope)
    // Proxied routes check their key in their pipeline, with its limits.
    if (deps.config().auth.required && !dialects.has(c.req.path)) gate(deps, scope, c.req.path)
    await next()
  })
  // First, so a browser gets the page at `/` whatever else answers `/` (the dashboard
  // passes every non-browser request at `/` on to the routes below).
  app.route("/", dashboardRoutes(deps))
  app.route("/", viewerRoutes(deps))
  app.route("/", eventRoutes(deps))

  for (const [path, endpoint] of PROXIED) {
    const run = pipeline(deps, endpoint)
    direct.set(path, run)
    // Also in Hono: a percent-encoded spelling of the path arrives there, and 405s need it.
    app.post(path, (c) => run(c.get("scope")))
  }
  const ingress = ingressDeps(deps)
  for (const d of DIALECTS) if (d.routes) app.route("/", d.routes(ingress))
  app.route("/", modelRoutes(ingress))
  app.route("/", healthRoutes(deps))
  app.route("/", routePlanRoutes(deps))
  app.route("/", adminRoutes(deps))
  app.route("/", keyRoutes(deps))
  app.route("/", fleetRoutes(deps))

  /** The methods with a route for `path` (middleware, registered for ALL, does not count). */
  const allowed = (path: string) =>
    METHODS.filter((m) => app.router.match(m, path)[0].some(([[, route]]) => route.method !== "ALL"))

  app.notFound((c) => {
    const scope = c.get("scope")
    // A path a dialect claims (Ollama's /api/...) is refused in that dialect's envelope.
    scope.dialect ??= dialectOf(c.req.path, c.req.raw.headers)?.errors
    const methods = allowed(c.req.path)
    const headers: Record<string, string> = { "x-request-id": scope.requestId }
    if (methods.length === 0) {
      const err = new NexusError({ kind: "unknown_route", message: `Unknown route: ${c.req.method} ${c.req.path}`, code: "unknown_route" })
      record(deps, scope, err.status, err)
      return (scope.dialect?.error ?? defaultError)(err, headers)
    }
    const allow = methods.includes("GET") ? [...methods, "HEAD"] : methods
    const message = `${c.req.method} is not allowed on ${c.req.path}; use ${allow.join(" or ")}.`
    const err = new NexusError({ kind: "method_not_allowed", message, code: "method_not_allowed" })
    record(deps, scope, err.status, err)
    return (scope.dialect?.error ?? defaultError)(err, { ...headers, allow: allow.join(", ") })
  })

  app.onError((err, c) => answerError(deps, c.get("scope") ?? openScope(c.req.raw, c.req.path), err))

  /** A request the browser guard turns away, answered in its route's dialect when known. */
  const refuse = (req: Request, err: NexusError) => {
    const path = rawPath(req.url)
    const scope = openScope(req, path)
    scope.dialect = dialects.get(path)
    return answerError(deps, scope, err)
  }

  return {
    fetch(req) {
      const host = req.headers.get("host")
      // A Host Bun could not use (it then gives a bare path as the URL) names nothing: no browser sends one.
      if (!hosts.allows(host) && req.url.charCodeAt(0) !== 47) return refuse(req, misdirected(host!))
      if (!isSafeMethod(req.method)) {
        const origin = crossSiteOrigin(req)
        if (origin !== undefined) return refuse(req, crossSite(origin))
      }
      if (req.method === "POST") {
        const path = rawPath(req.url)
        const run = direct.get(path)
        if (run) return run(openScope(req, path))
      }
      return app.fetch(req)
    },
  }
}
