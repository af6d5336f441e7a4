/**
 * The admin API: backends at run time (list, add by URL, remove, drain, undrain) and
 * configuration reload. Reads are open like /health; every state change needs
 * `Authorization: Bearer <admin token>`, or, with no token configured, a loopback client.
 * @module
 */
import { Hono, type Context } from "hono"
import * as v from "valibot"
import { closest, ConfigError, describeValue } from "../config/errors.ts"
import { REQUIRED_KEYS } from "../config/schema.ts"
import { BackendFields } from "../config/schema-backends.ts"
import type { Backend } from "../core/backend.ts"
import { noSuchBackend } from "../registry/manage.ts"
import { providerFor } from "../egress/providers/index.ts"
import { parseJsonObject, readBodyText } from "./body.ts"
import { requireJsonBody } from "./browser-guard.ts"
import type { AppDeps, Env } from "./deps.ts"
import { NexusError } from "../core/errors.ts"
import { requireViewer } from "./viewer.ts"
import { bearerOf, sameToken } from "./admin-token.ts"

/** Whether Nexus can load and unload the backend's models; without a lifecycle API the server keeps them loaded (vLLM, plain llama.cpp). */
export function lifecycleKind(b: Backend): "managed" | "always_loaded" {
  return providerFor(b.type).lifecycle ? "managed" : "always_loaded"
}

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
    models: [...b.models.values()].map((m) => ({ id: m.id, context_length: m.contextLength ?? null, loaded: m.loaded ?? null, vram_bytes: m.vramBytes ?? null, size_bytes: m.sizeBytes ?? null, expires_at: m.expiresAt ? new Date(m.expiresAt).toISOString() : null })),
    lifecycle: lifecycleKind(b),
    memory_bytes: b.memoryBytes ?? null,
    in_flight: b.stats.inFlight,
    max_concurrent: b.maxConcurrent ?? null,
    requests: b.stats.requests,
    errors: b.stats.errors,
    ttft_ewma_ms: b.stats.ttftEwmaMs === undefined ? null : Math.round(b.stats.ttftEwmaMs * 10) / 10,
    probe_latency_ms: b.stats.probeLatencyMs === undefined ? null : Math.round(b.stats.probeLatencyMs * 10) / 10,
  }
}

/**
 * The body of `POST /v1/backends`. Every field but `name` uses the schema of the same
 * `[[backends]]` key, so ranges and wording cannot drift from the file's. Names are
 * narrower here: they also end up in URLs of this API.
 */
const F = BackendFields.entries
const AddBackend = v.strictObject({
  url: F.url.wrapped,
  name: v.optional(v.pipe(v.string("expected a string"), v.regex(/^[\w.:@-]{1,64}$/, "expected letters, digits and . _ - : @ (at most 64)"))),
  type: v.optional(F.type),
  priority: F.priority,
  api_key_env: F.api_key_env,
  max_concurrent: F.max_concurrent,
  zone: F.zone,
})

/** A JSON value as the file's messages quote it, in JSON's words for objects. */
function describeJson(value: unknown): string {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? "an object" : describeValue(value)
}

/** The body, or a 400 naming the first bad field as the config file would (`field: what, got x`). */
function parseAddBackend(body: Record<string, unknown>): v.InferOutput<typeof AddBackend> {
  const result = v.safeParse(AddBackend, body)
  if (result.success) return result.output
  const issue = result.issues[0]
  const field = v.getDotPath(issue) ?? ""
  const fields = Object.keys(AddBackend.entries)
  let message: string
  if (issue.type === "strict_object" && issue.expected === "never") {
    const near = closest(field, fields)
    message = `unknown field \`${field}\`; ${near ? `did you mean \`${near}\`?` : `valid fields: ${fields.join(", ")}`}`
  } else if (!Object.hasOwn(body, field)) {
    message = `${field}: missing required field (${REQUIRED_KEYS[`backends.${field}`] ?? "required"})`
  } else {
    message = `${field}: ${issue.message}, got ${describeJson(issue.input)}`
  }
  throw new NexusError({ kind: "invalid_request", message, param: field, code: "invalid_request" })
}

function isLoopback(ip: string | undefined): boolean {
  if (!ip) return false
  return ip === "::1" || ip.startsWith("127.") || ip.startsWith("::ffff:127.")
}

/** What deciding who may change state reads. */
export type AdminGateDeps = Pick<AppDeps, "config" | "clientIP">

export function requireAdmin(deps: AdminGateDeps, c: Context<Env>): void {
  const token = deps.config().server.admin_token
  if (token) {
    const given = bearerOf(c.req.header("authorization")) ?? ""
    if (!given || !sameToken(given, token)) {
      throw new NexusError({
        kind: "authentication",
        message: given ? "Invalid admin token." : "This endpoint changes state: send Authorization: Bearer <admin token> (NEXUS_ADMIN_TOKEN).",
        code: "invalid_admin_token",
      })
    }
    return
  }
  if (!isLoopback(deps.clientIP(c.req.raw))) {
    throw new NexusError({
      kind: "authentication",
      message: "No admin token is configured, so state-changing endpoints accept only loopback clients. Set NEXUS_ADMIN_TOKEN to manage Nexus remotely.",
      code: "admin_loopback_only",
    })
  }
}


export function adminRoutes(deps: AdminGateDeps & Pick<AppDeps, "health" | "manager" | "registry" | "reload">) {
  const app = new Hono<Env>()

  app.get("/v1/backends", (c) => {
    requireViewer(deps, c)
    return c.json({ backends: deps.registry.list().map(backendView) })
  })
  app.get("/v1/backends/:id", (c) => {
    requireViewer(deps, c)
    const b = deps.registry.get(c.req.param("id"))
    if (!b) throw noSuchBackend(c.req.param("id"))
    return c.json(backendView(b))
  })

  app.post("/v1/backends", async (c) => {
    requireAdmin(deps, c)
    requireJsonBody(c.req.raw)
    const timeoutMs = deps.config().server.request_timeout_seconds * 1000
    const body = parseAddBackend(parseJsonObject(await readBodyText(c.req.raw, 64 * 1024, timeoutMs)))
    const backend = await deps.manager.addBackend(body)
    await deps.health.checkOne(backend)
    return c.json(backendView(backend), 201)
  })

  app.delete("/v1/backends/:id", (c) => {
    requireAdmin(deps, c)
    return c.json({ removed: backendView(deps.manager.removeBackend(c.req.param("id"))) })
  })

  for (const action of ["drain", "undrain"] as const) {
    app.post(`/v1/backends/:id/${action}`, (c) => {
      requireAdmin(deps, c)
      return c.json(backendView(deps.manager[action](c.req.param("id"))))
    })
  }

  app.post("/v1/admin/reload", async (c) => {
    requireAdmin(deps, c)
    try {
      return c.json({ reloaded: true, changes: await deps.reload() })
    } catch (err) {
      if (err instanceof ConfigError) {
        throw new NexusError({ kind: "invalid_request", message: err.message, code: "invalid_config" })
      }
      throw err
    }
  })

  return app
}
