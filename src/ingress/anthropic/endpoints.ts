/**
 * Anthropic Messages: `POST /v1/messages`, proxied through the canonical request.
 * @module
 */
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
