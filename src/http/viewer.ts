/**
 * With client keys required (`[auth] required`), the dashboard and the views that feed it
 * (`/dashboard/state`, `/v1/events`, `/v1/stats`, `GET /v1/backends`, `GET /v1/fleet`) show
 * key names and their usage: they follow the admin token. A program sends it as
 * `Authorization: Bearer`; the dashboard signs in once (`POST /dashboard/session`) and gets a
 * cookie, since its event stream (EventSource) cannot send headers. The cookie holds a MAC
 * of the token, not the token, and is HttpOnly and SameSite=Strict. Without a configured
 * token the views stay as open as the admin API's reads.
 * @module
 */
import { createHmac } from "node:crypto"
import { Hono, type Context } from "hono"
import { NexusError } from "../core/errors.ts"
import { bearerOf, sameToken } from "./admin-token.ts"
import { requireJsonBody } from "./browser-guard.ts"
import { parseJsonObject, readBodyText } from "./body.ts"
import type { AppDeps, Env } from "./deps.ts"

const COOKIE = "nexus_admin"

/** What the cookie carries for `token`: useless to anyone who reads it elsewhere. */
function cookieValue(token: string): string {
  return createHmac("sha256", token).update("nexus dashboard session").digest("hex")
}

function cookieOf(header: string | undefined): string | undefined {
  if (!header) return undefined
  for (const part of header.split(";")) {
    const [k, v] = part.trim().split("=", 2)
    if (k === COOKIE) return v
  }
  return undefined
}

/** What deciding who may see the views reads. */
export type ViewerDeps = Pick<AppDeps, "config">

/** The admin token these views need now, or undefined when they are open. */
function tokenNeeded(deps: ViewerDeps): string | undefined {
  const config = deps.config()
  return config.auth.required ? config.server.admin_token : undefined
}

/** Whether the request may see the views: open, or it carries the admin token (header or dashboard cookie). */
export function mayView(deps: ViewerDeps, c: Context<Env>): boolean {
  const token = tokenNeeded(deps)
  if (!token) return true
  const bearer = bearerOf(c.req.header("authorization"))
  if (bearer && sameToken(bearer, token)) return true
  const cookie = cookieOf(c.req.header("cookie"))
  return cookie !== undefined && sameToken(cookie, cookieValue(token))
}

/** Throws the 401 unless the request may see the views. */
export function requireViewer(deps: ViewerDeps, c: Context<Env>): void {
  if (mayView(deps, c)) return
  throw new NexusError({
    kind: "authentication",
    message: "With [auth] required, the dashboard and its data need the admin token: send Authorization: Bearer <NEXUS_ADMIN_TOKEN>, or sign in on /dashboard.",
    code: "admin_token_required",
  })
}

export function viewerRoutes(deps: ViewerDeps) {
  const app = new Hono<Env>()
  app.post("/dashboard/session", async (c) => {
    requireJsonBody(c.req.raw)
    const { max_body_bytes, request_timeout_seconds } = deps.config().server
    const body = parseJsonObject(await readBodyText(c.req.raw, Math.min(max_body_bytes, 4096), request_timeout_seconds * 1000))
    const token = tokenNeeded(deps)
    if (!token) return c.json({ signed_in: true, needed: false })
    if (typeof body.token !== "string" || !sameToken(body.token, token)) {
      throw new NexusError({ kind: "authentication", message: "Invalid admin token.", code: "invalid_admin_token", param: "token" })
    }
    c.header("set-cookie", `${COOKIE}=${cookieValue(token)}; Path=/; HttpOnly; SameSite=Strict`)
    return c.json({ signed_in: true, needed: true })
  })
  return app
}
