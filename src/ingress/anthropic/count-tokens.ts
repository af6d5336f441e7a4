/**
 * `POST /v1/messages/count_tokens`: the prompt of a Messages request, counted (count.ts).
 * @module
 */
import { Hono } from "hono"
import { promptTokens } from "../count.ts"
import type { IngressDeps, IngressEnv } from "../dialect.ts"
import { decodeMessages } from "./decode.ts"
import { messages } from "./endpoints.ts"

export function countTokensRoutes(deps: Pick<IngressDeps, "readJson" | "countPrompt">) {
  const app = new Hono<IngressEnv>()
  app.post("/v1/messages/count_tokens", async (c) => {
    c.get("scope").dialect = messages
    const decoded = decodeMessages(await deps.readJson(c.req.raw), true)
    return c.json({ input_tokens: await promptTokens(deps, c, decoded) })
  })
  return app
}
