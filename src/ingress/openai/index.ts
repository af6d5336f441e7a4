/**
 * The OpenAI dialect, the canonical one: Chat Completions, legacy Completions and
 * Embeddings, proxied; its envelope is the default for requests no dialect claims, and its
 * model list (the catalog's entries as they are) the default list.
 * @module
 */
import type { DialectModule } from "../dialect.ts"
import { chatCompletions, completions, embeddings } from "./endpoints.ts"

declare module "../../core/request.ts" {
  interface DialectNames {
    openai: true
  }
}

export const openai: DialectModule = {
  name: "openai",
  endpoints: {
    "/v1/chat/completions": chatCompletions,
    "/v1/completions": completions,
    "/v1/embeddings": embeddings,
  },
  errors: chatCompletions,
  models: {
    list: (entries) => ({ object: "list", data: entries }),
    one: (entry) => entry,
  },
}
