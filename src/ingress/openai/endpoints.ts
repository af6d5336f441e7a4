/**
 * The OpenAI endpoints Nexus serves by proxying: `POST /v1/chat/completions`,
 * `/v1/completions` (legacy, used by editors for autocomplete) and `/v1/embeddings`.
 * OpenAI is the canonical dialect, so decoding only validates what Nexus relies on;
 * bodies pass through byte for byte, and only `model` may change.
 * @module
 */
import type { IngressEndpoint } from "../types.ts"
import { openaiErrorResponse } from "./errors.ts"
import { CANONICAL_WIRE } from "../../core/dialect-wire.ts"
import { chatRequirements, noRequirements } from "./requirements.ts"
import { ChatRequest, CompletionRequest, EmbeddingsRequest, validate } from "./validate.ts"

const base = { dialect: "openai", error: openaiErrorResponse, ...CANONICAL_WIRE } as const

/**
 * The shape ChatRequest checks, tested directly: a well-formed request (nearly all of
 * them) skips the schema walk; anything else goes through it for its precise message.
 */
function isPlainChat(body: Record<string, unknown>): boolean {
  const { model, messages, stream } = body
  if (typeof model !== "string" || model === "" || !Array.isArray(messages)) return false
  if (stream !== undefined && stream !== null && typeof stream !== "boolean") return false
  for (const m of messages) if (typeof m !== "object" || m === null || typeof (m as { role?: unknown }).role !== "string") return false
  return true
}

export const chatCompletions: IngressEndpoint = {
  ...base,
  operation: "chat",
  decode(body) {
    const chat = isPlainChat(body) ? (body as { model: string; stream?: boolean | null }) : validate(ChatRequest, body)
    return { model: chat.model, stream: chat.stream === true, requirements: chatRequirements(body) }
  },
}

export const embeddings: IngressEndpoint = {
  ...base,
  operation: "embeddings",
  decode(body) {
    return { model: validate(EmbeddingsRequest, body).model, stream: false, requirements: { ...noRequirements(), embeddings: true } }
  },
}

export const completions: IngressEndpoint = {
  ...base,
  operation: "completions",
  decode(body) {
    const req = validate(CompletionRequest, body)
    const prompt = typeof body.prompt === "string" ? body.prompt : ""
    const max = typeof body.max_tokens === "number" && body.max_tokens > 0 ? body.max_tokens : 0
    return { model: req.model, stream: req.stream === true, requirements: { ...noRequirements(), estimatedTokens: Math.ceil(prompt.length / 4) + max } }
  },
}
