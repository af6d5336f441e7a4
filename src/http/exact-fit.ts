/**
 * A prompt refused for its size is counted again by a backend that has the model's own
 * tokenizer (llama.cpp, vLLM) before the refusal is final. The estimate errs on the large
 * side, so an exact count can only let a prompt through that the estimate refused; a prompt
 * that really does not fit is then refused with its exact size. Only refusals pay for it:
 * the common path never counts.
 * @module
 */
import type { Backend } from "../core/backend.ts"
import type { CanonicalRequest } from "../core/request.ts"
import { providerFor } from "../egress/providers/index.ts"
import type { Plan } from "../routing/router.ts"
import type { AppDeps } from "./deps.ts"

const COUNT_TIMEOUT_MS = 3000

type Refusal = Exclude<Plan, { ok: true }>

/** Every backend was excluded for its window alone: only a shorter prompt (or an exact count) can help. */
export function refusedForWindow(plan: Refusal): boolean {
  return plan.kind === "unavailable" && plan.excluded.length > 0 && plan.excluded.every((e) => e.contextLength !== undefined)
}

/**
 * The prompt of `body` counted by the first of `targets` whose server can count it with the
 * model's own template and tokenizer, and which one did; undefined when none can.
 */
export async function countOn(
  targets: readonly { backend: Backend | undefined; model: string }[],
  body: Record<string, unknown>,
  timeoutMs: number
): Promise<{ tokens: number; backend: Backend } | undefined> {
  for (const { backend, model } of targets) {
    const count = backend && providerFor(backend.type).countTokens
    if (!count) continue
    const n = await count(backend, { ...body, model }, timeoutMs).catch(() => undefined)
    if (n !== undefined) return { tokens: n, backend }
  }
  return undefined
}

/** The prompt's exact tokens, from the first excluded backend that can count them; undefined when none can. */
export async function exactPromptTokens(deps: Pick<AppDeps, "registry">, req: CanonicalRequest, plan: Refusal): Promise<number | undefined> {
  if (plan.kind !== "unavailable" || req.operation !== "chat") return undefined
  const backends = deps.registry.list()
  const targets = plan.excluded.map((e) => ({ backend: backends.find((b) => b.name === e.backend), model: e.model }))
  return (await countOn(targets, req.body as Record<string, unknown>, COUNT_TIMEOUT_MS))?.tokens
}
