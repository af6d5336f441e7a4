/**
 * The admin API for client API keys: create, list, show, revoke, rotate. Every route
 * needs the admin token (or, without one, a loopback client): a key list is no one
 * else's business. A secret appears once, in the answer that creates or rotates it.
 * @module
 */
import { Hono } from "hono"
import * as v from "valibot"
import { closest, describeValue } from "../config/errors.ts"
import { int, oneOf } from "../config/schema-parts.ts"
import { modelGlob } from "../config/schema-policy.ts"
import { PRIVACY_LEVELS } from "../config/types.ts"
import { DURATION_UNITS, DURATION_UNIT_LIST, parseDuration } from "../core/duration.ts"
import { NexusError } from "../core/errors.ts"
import { KEY_NAME, KEY_NAME_EXPECTED, type KeySpec } from "../policy/key-table.ts"
import { requireAdmin, type AdminGateDeps } from "./admin.ts"
import { parseJsonObject, readBodyText } from "./body.ts"
import { requireJsonBody } from "./browser-guard.ts"
import type { AppDeps, Env } from "./deps.ts"

const EXPIRES_EXPECTED = `expected a duration like "90d", "12h" or "1d12h" (${DURATION_UNIT_LIST}), above 0`
/** Far enough for "never" (9999999w), near enough that the expiry is still a date. */
const MAX_LIFETIME_MS = 9_999_999 * DURATION_UNITS.w

/** `90d` in milliseconds, or undefined when it is not a lifetime a key can have. */
function lifetimeMs(text: string): number | undefined {
  const ms = parseDuration(text)
  return ms !== undefined && ms > 0 && ms <= MAX_LIFETIME_MS ? ms : undefined
}

const GLOBS_EXPECTED = 'expected model globs, as an array or a comma-separated string like "llama*,qwen*"'

const CreateKey = v.strictObject({
  name: v.pipe(v.string(`expected ${KEY_NAME_EXPECTED}`), v.trim(), v.regex(KEY_NAME, `expected ${KEY_NAME_EXPECTED}`)),
  models: v.optional(
    v.pipe(
      v.union([v.array(v.string()), v.string()], GLOBS_EXPECTED),
      v.transform((m) => (typeof m === "string" ? m.split(",") : m).map((g) => g.trim()).filter((g) => g !== "")),
      v.array(modelGlob, GLOBS_EXPECTED),
      v.minLength(1, GLOBS_EXPECTED)
    )
  ),
  privacy: v.optional(oneOf(PRIVACY_LEVELS, { open: "unrestricted" }), "unrestricted"),
  rpm: v.optional(int(1, 1e9, "expected requests per minute, an integer from 1")),
  tpm: v.optional(int(1, 1e12, "expected tokens per minute, an integer from 1")),
  max_concurrent: v.optional(int(1, 1e6, "expected requests in flight, an integer from 1")),
  monthly_usd: v.optional(v.pipe(v.number("expected US dollars, 0 or more"), v.minValue(0, "expected US dollars, 0 or more"), v.maxValue(1e9, "expected US dollars, 0 or more"))),
  expires: v.optional(v.pipe(v.string(EXPIRES_EXPECTED), v.check((s) => lifetimeMs(s) !== undefined, EXPIRES_EXPECTED))),
})

/** The body, or a 400 naming the first bad field (`field: what, got x`). */
function parseCreate(body: Record<string, unknown>, now: number): KeySpec {
  const result = v.safeParse(CreateKey, body)
  if (!result.success) {
    const issue = result.issues[0]
    const field = v.getDotPath(issue) ?? ""
    const fields = Object.keys(CreateKey.entries)
    let message: string
    if (issue.type === "strict_object" && issue.expected === "never") {
      const near = closest(field, fields)
      message = `unknown field \`${field}\`; ${near ? `did you mean \`${near}\`?` : `valid fields: ${fields.join(", ")}`}`
    } else if (!Object.hasOwn(body, field.split(".")[0]!)) message = `${field}: missing required field (${KEY_NAME_EXPECTED})`
    else message = `${field}: ${issue.message}, got ${describeValue(issue.input)}`
    throw new NexusError({ kind: "invalid_request", message, param: field, code: "invalid_request" })
  }
  const b = result.output
  return {
    name: b.name,
    models: b.models,
    privacy: b.privacy,
    rpm: b.rpm,
    tpm: b.tpm,
    maxConcurrent: b.max_concurrent,
    monthlyUsd: b.monthly_usd,
    expiresAt: b.expires === undefined ? undefined : now + lifetimeMs(b.expires)!,
  }
}

export function keyRoutes(deps: AdminGateDeps & Pick<AppDeps, "keys" | "log">) {
  const app = new Hono<Env>()
  const { table, usage } = deps.keys

  app.get("/v1/keys", (c) => {
    requireAdmin(deps, c)
    return c.json({ keys: table.list().map(usage.view) })
  })
  app.get("/v1/keys/:name", (c) => {
    requireAdmin(deps, c)
    return c.json(usage.view(table.get(c.req.param("name"))))
  })
  app.post("/v1/keys", async (c) => {
    requireAdmin(deps, c)
    requireJsonBody(c.req.raw)
    const timeoutMs = deps.config().server.request_timeout_seconds * 1000
    const spec = parseCreate(parseJsonObject(await readBodyText(c.req.raw, 64 * 1024, timeoutMs)), Date.now())
    const { key, secret } = table.create(spec)
    await table.saved()
    deps.log.info(`API key ${key.name} created`, { key: key.name, prefix: key.prefix })
    return c.json({ ...usage.view(key), secret }, 201)
  })
  app.post("/v1/keys/:name/rotate", async (c) => {
    requireAdmin(deps, c)
    const { key, secret } = table.rotate(c.req.param("name"))
    await table.saved()
    deps.log.info(`API key ${key.name} rotated`, { key: key.name, prefix: key.prefix })
    return c.json({ ...usage.view(key), secret })
  })
  app.delete("/v1/keys/:name", async (c) => {
    requireAdmin(deps, c)
    const key = table.revoke(c.req.param("name"))
    await table.saved()
    deps.log.info(`API key ${key.name} revoked`, { key: key.name })
    return c.json({ revoked: usage.view(key) })
  })
  return app
}
