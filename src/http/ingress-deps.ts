/**
 * What the dialects' own routes use of the gateway (IngressDeps), made from its
 * dependencies: the catalog's sources, the response store, body reading within the
 * server's limits, and prompt counting under the same policy as generation.
 * @module
 */
import { notHeld } from "../egress/exchange.ts"
import { headerValue } from "../egress/transport/headers.ts"
import type { IngressDeps } from "../ingress/dialect.ts"
import { applyPolicy } from "../policy/index.ts"
import { parseJsonObject, readBodyText } from "./body.ts"
import type { AppDeps } from "./deps.ts"
import { countOn } from "./exact-fit.ts"

const COUNT_TIMEOUT_MS = 5000

type Sources = Pick<AppDeps, "config" | "registry" | "router" | "stats" | "responses" | "stages">

export function ingressDeps(deps: Sources): IngressDeps {
  return {
    config: () => deps.config(),
    registry: deps.registry,
    router: deps.router,
    stats: deps.stats,
    responses: deps.responses,
    async readJson(req) {
      const { server } = deps.config()
      return parseJsonObject(await readBodyText(req, server.max_body_bytes, server.request_timeout_seconds * 1000))
    },
    async countPrompt(prompt, headers, key) {
      // The prompt goes to a backend to be counted: the same policy as for generation applies, the client's key's included.
      const policy = applyPolicy({ model: prompt.model, resolved: deps.router.resolve(prompt.model), headers, operation: "chat", continues: prompt.continues, key }, deps.stages)
      const plan = deps.router.plan(prompt.model, prompt.requirements, policy)
      const counted = await countOn(plan.ok ? plan.attempts : [], prompt.canonical, COUNT_TIMEOUT_MS)
      return counted && { tokens: counted.tokens, backend: headerValue(counted.backend.name) }
    },
    notHeld: (param) => notHeld(undefined, param),
  }
}
