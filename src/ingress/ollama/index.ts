/**
 * The Ollama dialect: its proxied routes, the routes it answers from the registry
 * (`/api/tags`, `/api/show`, ...) and its `{"error"}` envelope for everything under `/api/`.
 * @module
 */
import type { DialectModule } from "../dialect.ts"
import { ollamaChat, ollamaEmbed, ollamaEmbeddings, ollamaGenerate } from "./endpoints.ts"
import { ollamaRoutes } from "./routes.ts"

declare module "../../core/request.ts" {
  interface DialectNames {
    ollama: true
  }
}

export const ollama: DialectModule = {
  name: "ollama",
  endpoints: {
    "/api/chat": ollamaChat,
    "/api/generate": ollamaGenerate,
    "/api/embed": ollamaEmbed,
    "/api/embeddings": ollamaEmbeddings,
  },
  errors: ollamaChat,
  claims: (path) => path.startsWith("/api/"),
  routes: ollamaRoutes,
}
