/**
 * `POST /v1/messages/count_tokens` (Anthropic): exact when a backend that serves the
 * model can count with the model's own template and tokenizer (llama.cpp), otherwise the
 * documented estimate (four characters a token). `X-Nexus-Token-Count` says which.
 * @module
 */
import { Hono } from "hono"
import { providerFor } from "../egress/providers/index.ts"
import { headerValue } from "../egress/transport/headers.ts"
import { estimateMessagesTokens, messages } from "../ingress/anthropic/endpoints.ts"
import { decodeMessages } from "../ingress/anthropic/decode.ts"
import { applyPolicy } from "../policy/index.ts"
import { parseJsonObject, readBodyText } from "./body.ts"
import type { AppDeps, Env } from "./deps.ts"

const COUNT_TIMEOUT_MS = 5000

export function countTokensRoutes(deps: AppDeps) {
  const app = new Hono<Env>()
  app.post("/v1/messages/count_tokens", async (c) => {
    c.get("scope").dialect = messages
    const config = deps.config()
    const raw = await readBodyText(c.req.raw, config.server.max_body_bytes, config.server.request_timeout_seconds * 1000)
    const decoded = decodeMessages(parseJsonObject(raw), true)
    // The prompt goes to a backend to be counted: the same policy as for generation applies.
    const policy = applyPolicy({ model: decoded.model, resolved: deps.router.resolve(decoded.model), headers: c.req.raw.headers, operation: "chat" }, deps.stages)
    const plan = deps.router.plan(decoded.model, decoded.requirements, policy)
    for (const attempt of plan.ok ? plan.attempts : []) {
      const count = providerFor(attempt.backend.type).countTokens
      if (!count) continue
      const n = await count(attempt.backend, { ...decoded.canonical, model: attempt.model }, COUNT_TIMEOUT_MS).catch(() => undefined)
      if (n !== undefined) {
        c.header("x-nexus-token-count", `exact:${headerValue(attempt.backend.name)}`)
        return c.json({ input_tokens: n })
      }
    }
    c.header("x-nexus-token-count", "estimate")
    return c.json({ input_tokens: estimateMessagesTokens(decoded.canonical) })
  })
  return app
}
