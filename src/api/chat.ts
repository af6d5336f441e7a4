/**
 * `POST /v1/chat/completions` and `POST /v1/embeddings`: bodies pass through byte
 * for byte; only `model` may change when an alias or fallback resolves.
 * @module
 */
import { chatRequirements, noRequirements } from "../routing/requirements.ts"
import type { AppDeps } from "./deps.ts"
import { proxied } from "./proxied.ts"
import { ChatRequest, EmbeddingsRequest, validate } from "./validate.ts"

export function chatCompletions(deps: AppDeps) {
  return proxied(deps, {
    path: "/chat/completions",
    read(body) {
      const chat = validate(ChatRequest, body)
      return { model: chat.model, stream: chat.stream === true }
    },
    requirements: chatRequirements,
  })
}

export function embeddings(deps: AppDeps) {
  return proxied(deps, {
    path: "/embeddings",
    read(body) {
      return { model: validate(EmbeddingsRequest, body).model, stream: false }
    },
    requirements: () => ({ ...noRequirements(), embeddings: true }),
  })
}
