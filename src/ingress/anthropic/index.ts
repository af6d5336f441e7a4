/**
 * The Anthropic dialect: Messages, proxied; `count_tokens`; its envelope and model-list
 * shape for every request that sends `anthropic-version` (Anthropic's clients always do).
 * @module
 */
import type { DialectModule } from "../dialect.ts"
import { countTokensRoutes } from "./count-tokens.ts"
import { messages } from "./endpoints.ts"
import { anthropicModels } from "./models.ts"

declare module "../../core/request.ts" {
  interface DialectNames {
    anthropic: true
  }
}

export const anthropic: DialectModule = {
  name: "anthropic",
  endpoints: { "/v1/messages": messages },
  errors: messages,
  claims: (path, headers) => path.startsWith("/v1/messages") || headers.has("anthropic-version"),
  routes: countTokensRoutes,
  models: anthropicModels,
}
