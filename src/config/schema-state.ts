/**
 * The schema of `[state]`: where what several instances must agree on is kept. Without
 * `url` everything stays in the state file of each instance.
 * @module
 */
import * as v from "valibot"
import { oneOf, table } from "./schema-parts.ts"
import { STATE_UNAVAILABLE } from "./types.ts"

const REDIS_URL_EXPECTED = 'expected a Redis or Valkey URL like "redis://host:6379/0" (redis:// or rediss:// for TLS; the password goes in password_env)'

const redisUrl = v.pipe(
  v.string(REDIS_URL_EXPECTED),
  v.trim(),
  v.check((s) => {
    try {
      const u = new URL(s)
      return (u.protocol === "redis:" || u.protocol === "rediss:") && u.hostname !== "" && /^(\/\d{0,2})?$/.test(u.pathname)
    } catch {
      return false
    }
  }, REDIS_URL_EXPECTED)
)

export const StateSchema = table(
  {
    url: v.optional(redisUrl),
    password_env: v.optional(
      v.pipe(v.string("expected the name of an environment variable"), v.trim(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected the name of an environment variable, like NEXUS_REDIS_PASSWORD (the password itself goes in the environment)"))
    ),
    on_unavailable: v.optional(oneOf(STATE_UNAVAILABLE), "open"),
  },
  "[state]"
)
