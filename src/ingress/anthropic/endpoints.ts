/**
 * Anthropic Messages: `POST /v1/messages`, proxied through the canonical request.
 * @module
 */
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
