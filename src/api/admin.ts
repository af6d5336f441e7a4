/**
 * The admin API: backends at run time (list, add by URL, remove, drain, undrain) and
 * configuration reload. Reads are open like /health; every state change needs
 * `Authorization: Bearer <admin token>`, or, with no token configured, a loopback client.
 * @module
 */
import { Hono, type Context } from "hono"
import * as v from "valibot"
import { BACKEND_TYPES } from "../config/types.ts"
import { ConfigError } from "../config/errors.ts"
import { ApiError } from "../errors.ts"
import type { Backend } from "../registry/types.ts"
import { RuntimeError } from "../runtime.ts"
import { parseJsonObject, readBodyText } from "./body.ts"
import type { AppDeps, Env } from "./deps.ts"
import { validate } from "./validate.ts"

/** The documented shape of a backend in `GET /v1/backends` and `nexus backends list --json`. */
export function backendView(b: Backend) {
  return {
    id: b.id,
    name: b.name,
    url: b.url,
    type: b.type,
    status: b.status,
    source: b.source,
    priority: b.priority,
    zone: b.zone,
    last_error: b.lastError ?? null,
    last_check: b.lastCheck ? new Date(b.lastCheck).toISOString() : null,
    models: [...b.models.values()].map((m) => ({ id: m.id, context_length: m.contextLength ?? null, loaded: m.loaded ?? null, vram_bytes: m.vramBytes ?? null })),
    in_flight: b.stats.inFlight,
    max_concurrent: b.maxConcurrent ?? null,
    requests: b.stats.requests,
    errors: b.stats.errors,
    ttft_ewma_ms: b.stats.ttftEwmaMs === undefined ? null : Math.round(b.stats.ttftEwmaMs * 10) / 10,
    probe_latency_ms: b.stats.probeLatencyMs === undefined ? null : Math.round(b.stats.probeLatencyMs * 10) / 10,
  }
}

const AddBackend = v.strictObject({
  url: v.pipe(v.string("`url` is required: the server's base URL, e.g. http://gpu-box:8000"), v.nonEmpty("`url` must not be empty")),
  name: v.optional(v.pipe(v.string("`name` must be a string"), v.regex(/^[\w.:@-]{1,64}$/, "`name` may use letters, digits and . _ - : @ (at most 64)"))),
  type: v.optional(v.picklist(BACKEND_TYPES, `\`type\` must be one of: ${BACKEND_TYPES.join(", ")}`)),
  priority: v.optional(v.pipe(v.number("`priority` must be a number"), v.integer("`priority` must be an integer"))),
  api_key_env: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "`api_key_env` must name an environment variable"))),
  max_concurrent: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1, "`max_concurrent` must be at least 1"))),
})

function isLoopback(ip: string | undefined): boolean {
  if (!ip) return false
  return ip === "::1" || ip.startsWith("127.") || ip.startsWith("::ffff:127.")
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from timings. */
function sameToken(given: string, want: string): boolean {
  const a = new TextEncoder().encode(given)
  const b = new TextEncoder().encode(want)
  let diff = a.length ^ b.length
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i]!
  return diff === 0
}

function requireAdmin(deps: AppDeps, c: Context<Env>): void {
  const token = deps.config().server.admin_token
  if (token) {
    const auth = c.req.header("authorization") ?? ""
    const given = auth.startsWith("Bearer ") ? auth.slice(7).trim() : ""
    if (!given || !sameToken(given, token)) {
      throw new ApiError({
        status: 401,
        message: given ? "Invalid admin token." : "This endpoint changes state: send Authorization: Bearer <admin token> (NEXUS_ADMIN_TOKEN).",
        type: "authentication_error",
        code: "invalid_admin_token",
      })
    }
    return
  }
  if (!isLoopback(deps.clientIP(c.req.raw))) {
    throw new ApiError({
      status: 401,
      message: "No admin token is configured, so state-changing endpoints accept only loopback clients. Set NEXUS_ADMIN_TOKEN to manage Nexus remotely.",
      type: "authentication_error",
      code: "admin_loopback_only",
    })
  }
}

function runtimeError(err: unknown): never {
  if (err instanceof RuntimeError) {
    throw new ApiError({ status: err.status, message: err.message, type: "invalid_request_error", code: err.status === 404 ? "backend_not_found" : "invalid_backend" })
  }
  throw err
}

export function adminRoutes(deps: AppDeps) {
  const app = new Hono<Env>()

  app.get("/v1/backends", (c) => c.json({ backends: deps.registry.list().map(backendView) }))
  app.get("/v1/backends/:id", (c) => {
    const b = deps.registry.get(c.req.param("id"))
    if (!b) runtimeError(new RuntimeError(404, `no backend with id ${c.req.param("id")}`))
    return c.json(backendView(b))
  })

  app.post("/v1/backends", async (c) => {
    requireAdmin(deps, c)
    const timeoutMs = deps.config().server.request_timeout_seconds * 1000
    const body = validate(AddBackend, parseJsonObject(await readBodyText(c.req.raw, 64 * 1024, timeoutMs)))
    const backend = await deps.runtime.addBackend(body).catch(runtimeError)
    await deps.health.checkOne(backend)
    return c.json(backendView(backend), 201)
  })

  app.delete("/v1/backends/:id", (c) => {
    requireAdmin(deps, c)
    try {
      return c.json({ removed: backendView(deps.runtime.removeBackend(c.req.param("id"))) })
    } catch (err) {
      runtimeError(err)
    }
  })

  for (const action of ["drain", "undrain"] as const) {
    app.post(`/v1/backends/:id/${action}`, (c) => {
      requireAdmin(deps, c)
      try {
        return c.json(backendView(deps.runtime[action](c.req.param("id"))))
      } catch (err) {
        runtimeError(err)
      }
    })
  }

  app.post("/v1/admin/reload", async (c) => {
    requireAdmin(deps, c)
    try {
      return c.json({ reloaded: true, changes: await deps.reload() })
    } catch (err) {
      if (err instanceof ConfigError) {
        throw new ApiError({ status: 400, message: err.message, type: "invalid_request_error", code: "invalid_config" })
      }
      throw err
    }
  })

  return app
}
