/**
 * Anthropic Messages: `POST /v1/messages` (proxied through the canonical request) and
 * `POST /v1/messages/count_tokens` (answered here: an estimate of four characters a
 * token over the translated prompt, since no local server counts Anthropic's tokens).
 * @module
 */
import { Hono } from "hono"
import { NexusError } from "../../core/errors.ts"
import { estimateTokens } from "../answer.ts"
import type { IngressEndpoint } from "../types.ts"
import { decodeMessages } from "./decode.ts"
import { encodeMessages } from "./encode.ts"
import { anthropicErrorResponse } from "./errors.ts"

export const messages: IngressEndpoint = {
  dialect: "anthropic",
  operation: "chat",
  decode: (body) => decodeMessages(body),
  error: anthropicErrorResponse,
  encode: encodeMessages,
}

/** Prompt tokens of a Messages request, estimated from the translated prompt. */
export function countTokens(body: Record<string, unknown>): number {
  const { canonical } = decodeMessages(body, true)
  const text = JSON.stringify(canonical.messages) + (canonical.tools ? JSON.stringify(canonical.tools) : "")
  return estimateTokens(text.length)
}

/** `POST /v1/messages/count_tokens`; depends on nothing but this folder. */
export function countTokensRoute() {
  const app = new Hono()
  app.post("/v1/messages/count_tokens", async (c) => {
    let body: unknown
    try {
      body = await c.req.json()
    } catch {
      return anthropicErrorResponse(new NexusError({ kind: "invalid_request", message: "The request body is not valid JSON." }))
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return anthropicErrorResponse(new NexusError({ kind: "invalid_request", message: "The request body must be a JSON object." }))
    }
    try {
      return c.json({ input_tokens: countTokens(body as Record<string, unknown>) })
    } catch (err) {
      if (err instanceof NexusError) return anthropicErrorResponse(err)
      throw err
    }
  })
  return app
}
