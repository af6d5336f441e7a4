/**
 * The responses Nexus keeps, read back and forgotten the way OpenAI's clients expect:
 * `GET /v1/responses/{id}`, `GET /v1/responses/{id}/input_items`, `DELETE /v1/responses/{id}`.
 * Responses a native server made (and keeps) are that server's; Nexus answers 404 for them.
 * And `POST /v1/responses/input_tokens`, the prompt of a Responses request counted (count.ts).
 * @module
 */
import { Hono, type Context } from "hono"
import { NexusError } from "../../core/errors.ts"
import { promptTokens } from "../count.ts"
import type { IngressDeps, IngressEnv as Env } from "../dialect.ts"
import { decodeResponses } from "./decode.ts"
import { responses } from "./endpoints.ts"

function notFound(id: string): NexusError {
  return new NexusError({ kind: "not_found", message: `No response found with id '${id}'.`, code: "not_found", param: "response_id" })
}

export function responseRoutes(deps: Pick<IngressDeps, "responses" | "readJson" | "countPrompt" | "notHeld">) {
  const app = new Hono<Env>()
  app.post("/v1/responses/input_tokens", async (c) => {
    c.get("scope").dialect = responses
    const decoded = decodeResponses(await deps.readJson(c.req.raw), deps)
    if (typeof decoded.native === "object") throw deps.notHeld(decoded.native.only)
    return c.json({ object: "response.input_tokens", input_tokens: await promptTokens(deps, c, decoded) })
  })
  const stored = (c: Context<Env>) => {
    c.get("scope").dialect = responses
    const id = c.req.param("id")!
    const found = deps.responses.get(id)
    if (!found) throw notFound(id)
    return found
  }
  app.get("/v1/responses/:id", (c) => c.json(stored(c).response))
  app.get("/v1/responses/:id/input_items", (c) => {
    const items = stored(c).input.map((item, i) => ({ id: `item_${i}`, ...item }))
    if (c.req.query("order") !== "asc") items.reverse()
    return c.json({ object: "list", data: items, first_id: items[0]?.id ?? null, last_id: items.at(-1)?.id ?? null, has_more: false })
  })
  app.delete("/v1/responses/:id", (c) => {
    c.get("scope").dialect = responses
    const id = c.req.param("id")
    if (!deps.responses.delete(id)) throw notFound(id)
    return c.json({ id, object: "response", deleted: true })
  })
  return app
}
