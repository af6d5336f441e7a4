/**
 * The proxied OpenAI endpoints: `POST /v1/chat/completions`, `/v1/completions`
 * (legacy, used by editors for autocomplete) and `/v1/embeddings`. Bodies pass
 * through byte for byte; only `model` may change when an alias or fallback resolves.
 * @module
 */
import { chatRequirements, noRequirements } from "../ingress/openai/requirements.ts"
import type { AppDeps } from "./deps.ts"
import { proxied } from "./proxied.ts"
import { ChatRequest, CompletionRequest, EmbeddingsRequest, validate } from "./validate.ts"

export function chatCompletions(deps: AppDeps) {
  return proxied(deps, {
    operation: "chat",
    read(body) {
      const chat = validate(ChatRequest, body)
      return { model: chat.model, stream: chat.stream === true }
    },
    requirements: chatRequirements,
  })
}

export function embeddings(deps: AppDeps) {
  return proxied(deps, {
    operation: "embeddings",
    read(body) {
      return { model: validate(EmbeddingsRequest, body).model, stream: false }
    },
    requirements: () => ({ ...noRequirements(), embeddings: true }),
  })
}

export function completions(deps: AppDeps) {
  return proxied(deps, {
    operation: "completions",
    read(body) {
      const req = validate(CompletionRequest, body)
      return { model: req.model, stream: req.stream === true }
    },
    requirements(body) {
      const prompt = typeof body.prompt === "string" ? body.prompt : ""
      const max = typeof body.max_tokens === "number" && body.max_tokens > 0 ? body.max_tokens : 0
      return { ...noRequirements(), estimatedTokens: Math.ceil(prompt.length / 4) + max }
    },
  })
}
