/**
 * Counting a prompt's tokens without generating: Anthropic's
 * `POST /v1/messages/count_tokens` and OpenAI's `POST /v1/responses/input_tokens`. Exact
 * when a backend that serves the model can count with the model's own template and
 * tokenizer (llama.cpp), otherwise the documented estimate (four characters a token).
 * `X-Nexus-Token-Count` says which.
 * @module
 */
import { Hono, type Context } from "hono"
import type { Requirements } from "../core/request.ts"
import { notHeld } from "../egress/exchange.ts"
import { headerValue } from "../egress/transport/headers.ts"
import { estimateMessagesTokens, messages } from "../ingress/anthropic/endpoints.ts"
import { decodeMessages } from "../ingress/anthropic/decode.ts"
import { decodeResponses } from "../ingress/responses/decode.ts"
import { responses } from "../ingress/responses/endpoints.ts"
import { applyPolicy } from "../policy/index.ts"
import { parseJsonObject, readBodyText } from "./body.ts"
import type { AppDeps, Env } from "./deps.ts"
import { countOn } from "./exact-fit.ts"

const COUNT_TIMEOUT_MS = 5000

interface Prompt {
  model: string
  requirements: Requirements
  canonical: Record<string, unknown>
}

/** The prompt's tokens, counted by a backend that can, else estimated; the header says which. */
async function countPrompt(deps: AppDeps, c: Context<Env>, prompt: Prompt): Promise<number> {
  // The prompt goes to a backend to be counted: the same policy as for generation applies.
  const policy = applyPolicy({ model: prompt.model, resolved: deps.router.resolve(prompt.model), headers: c.req.raw.headers, operation: "chat" }, deps.stages)
  const plan = deps.router.plan(prompt.model, prompt.requirements, policy)
  const counted = await countOn(plan.ok ? plan.attempts : [], prompt.canonical, COUNT_TIMEOUT_MS)
  if (counted) {
    c.header("x-nexus-token-count", `exact:${headerValue(counted.backend.name)}`)
    return counted.tokens
  }
  c.header("x-nexus-token-count", "estimate")
  return estimateMessagesTokens(prompt.canonical)
}

async function bodyOf(deps: AppDeps, c: Context<Env>): Promise<Record<string, unknown>> {
  const config = deps.config()
  const raw = await readBodyText(c.req.raw, config.server.max_body_bytes, config.server.request_timeout_seconds * 1000)
  return parseJsonObject(raw)
}

export function countTokensRoutes(deps: AppDeps) {
  const app = new Hono<Env>()
  app.post("/v1/messages/count_tokens", async (c) => {
    c.get("scope").dialect = messages
    const decoded = decodeMessages(await bodyOf(deps, c), true)
    return c.json({ input_tokens: await countPrompt(deps, c, decoded) })
  })
  app.post("/v1/responses/input_tokens", async (c) => {
    c.get("scope").dialect = responses
    const decoded = decodeResponses(await bodyOf(deps, c), deps)
    if (typeof decoded.native === "object") throw notHeld(undefined, decoded.native.only)
    return c.json({ object: "response.input_tokens", input_tokens: await countPrompt(deps, c, decoded) })
  })
  return app
}
