/**
 * The OpenAI Responses dialect: `POST /v1/responses`, proxied; the responses Nexus keeps
 * and `input_tokens` (routes.ts). Errors use OpenAI's envelope, as do its clients.
 * @module
 */
import type { DialectModule } from "../dialect.ts"
import { responses as endpoint } from "./endpoints.ts"
import { responseRoutes } from "./routes.ts"

declare module "../../core/request.ts" {
  interface DialectNames {
    responses: true
  }
}

export const responses: DialectModule = {
  name: "responses",
  endpoints: { "/v1/responses": endpoint },
  errors: endpoint,
  routes: responseRoutes,
}
