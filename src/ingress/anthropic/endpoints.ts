/**
 * Anthropic Messages: `POST /v1/messages`, proxied through the canonical request, and the
 * estimate `count_tokens` falls back to.
 * @module
 */
import { estimateTokens } from "../answer.ts"
import type { IngressEndpoint } from "../types.ts"
import { decodeMessages } from "./decode.ts"
import { encodeMessages, translateMessages } from "./encode.ts"
import { anthropicErrorResponse, anthropicFraming } from "./errors.ts"

export const messages: IngressEndpoint = {
  dialect: "anthropic",
  operation: "chat",
  decode: (body) => decodeMessages(body),
  error: anthropicErrorResponse,
  framing: anthropicFraming,
  budgetKeys: ["max_tokens"],
  encode: encodeMessages,
  translate: translateMessages,
}

/** The estimate of a translated request's prompt tokens, when no backend can count them. */
export function estimateMessagesTokens(canonical: Record<string, unknown>): number {
  const text = JSON.stringify(canonical.messages) + (canonical.tools ? JSON.stringify(canonical.tools) : "")
  return estimateTokens(text.length)
}
