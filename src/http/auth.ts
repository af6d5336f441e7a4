/**
 * Client API keys on the request path, when `[auth] required` is set: which key a request
 * carries (`Authorization: Bearer`, or `x-api-key` as Anthropic clients send it), the
 * 401 when there is none that works (the same answer for unknown, revoked and expired
 * keys, so a guess learns nothing), and the key's rate limits and concurrency for
 * proxied requests. With keys off none of this runs.
 * @module
 */
import { KEY_PREFIX } from "../core/api-key.ts"
import { NexusError } from "../core/errors.ts"
import { messages } from "../ingress/anthropic/endpoints.ts"
import { ollamaChat } from "../ingress/ollama/endpoints.ts"
import { bearerOf } from "./admin-token.ts"
import type { AppDeps } from "./deps.ts"
import type { RequestScope } from "./scope.ts"

/** The secret a request presents: one that looks like ours first, else whichever is there. */
function presentedKey(headers: Headers): string | undefined {
  const bearer = bearerOf(headers.get("authorization") ?? undefined)
  const apiKey = headers.get("x-api-key")?.trim() || undefined
  if (bearer?.startsWith(KEY_PREFIX)) return bearer
  if (apiKey?.startsWith(KEY_PREFIX)) return apiKey
  return bearer ?? apiKey
}

function unauthenticated(given: boolean): NexusError {
  return new NexusError({
    kind: "authentication",
    message: given
      ? "Invalid API key: it is not a key of this gateway, or it was revoked or has expired."
      : "This gateway requires an API key: send Authorization: Bearer <key> (or x-api-key: <key>). Keys are made with `nexus keys create`.",
    code: "invalid_api_key",
  })
}

/** Who the request is, or a 401; sets `scope.key`. */
export function identify(deps: Pick<AppDeps, "keys">, scope: RequestScope): void {
  if (scope.key) return
  const secret = presentedKey(scope.req.headers)
  const key = secret === undefined ? undefined : deps.keys.table.authenticate(secret)
  if (!key) throw unauthenticated(secret !== undefined)
  scope.key = key
}

/** Identify, then take a place within the key's limits (a 429 when there is none). */
export function admit(deps: Pick<AppDeps, "keys">, scope: RequestScope): void | Promise<void> {
  identify(deps, scope)
  if (scope.keySlot) return
  // Limits on a shared store answer later; local ones at once, without a promise.
  const shared = deps.keys.limits.admit(scope.key!)
  if (shared) return shared.then(() => void (scope.keySlot = true))
  scope.keySlot = true
}

/** Give back the key's place in flight (once; the request's one record calls it). */
export function release(deps: Pick<AppDeps, "keys">, scope: RequestScope): void {
  if (!scope.keySlot) return
  scope.keySlot = false
  deps.keys.limits.release(scope.key!)
}

/** Admin reads and writes follow the admin token, proxied routes check in their pipeline. */
const UNGATED = /^\/v1\/(?:backends|admin|keys|stats|events|fleet)(?:\/|$)/

/**
 * The key check of routes served by the Hono app (model lists, Ollama's and Anthropic's
 * side routes, the route explainer), answered in the dialect of the route.
 */
export function gate(deps: AppDeps, scope: RequestScope, path: string): void {
  const auth = deps.config().auth
  const gated = path.startsWith("/v1/") ? !UNGATED.test(path) : path.startsWith("/api/") || (path === "/health" && !auth.public_health) || (path === "/metrics" && !auth.public_metrics)
  if (!gated) return
  if (path.startsWith("/api/")) scope.dialect ??= ollamaChat
  else if (path.startsWith("/v1/messages") || scope.req.headers.has("anthropic-version")) scope.dialect ??= messages
  identify(deps, scope)
}
