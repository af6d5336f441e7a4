/**
 * OpenAI Responses: `POST /v1/responses`. Servers that implement it (vLLM) get the
 * client's bytes; the rest (and a server found to lack the route) get the canonical Chat
 * Completions request, and the answer comes back as a `response` or its semantic event
 * stream, kept for continuations unless `store: false`. Errors use OpenAI's envelope.
 * @module
 */
import { openaiErrorResponse } from "../openai/errors.ts"
import type { IngressEndpoint } from "../types.ts"
import { decodeResponses } from "./decode.ts"
import { encodeResponses, responsesFraming, translateResponses } from "./encode.ts"

export const responses: IngressEndpoint = {
  dialect: "responses",
  operation: "chat",
  decode: decodeResponses,
  error: openaiErrorResponse,
  framing: responsesFraming,
  budgetKeys: ["max_output_tokens"],
  encode: encodeResponses,
  translate: translateResponses,
}
