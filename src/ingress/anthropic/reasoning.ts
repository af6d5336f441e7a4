/**
 * Anthropic's reasoning controls read as what the client wants of the model: `thinking`
 * (`enabled` with a token budget, `adaptive` with a `display`, `disabled`) and
 * `output_config.effort`. Providers map the result to their own switches.
 * @module
 */
import { NexusError } from "../../core/errors.ts"
import type { Reasoning } from "../../core/request.ts"

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v)

const EFFORTS: Readonly<Record<string, Reasoning["effort"]>> = { low: "low", medium: "medium", high: "high", xhigh: "high", max: "high" }

/** A thinking budget as an effort: Anthropic's minimum budget is 1,024 tokens. */
function effortOfBudget(budget: unknown): Reasoning["effort"] {
  if (typeof budget !== "number" || !Number.isFinite(budget)) return undefined
  return budget < 4096 ? "low" : budget < 16384 ? "medium" : "high"
}

export function reasoningOf(body: Obj): Reasoning | undefined {
  const thinking = body.thinking
  const config = body.output_config
  if (thinking === undefined && !isObj(config)) return undefined
  if (thinking !== undefined && (!isObj(thinking) || typeof thinking.type !== "string")) {
    throw new NexusError({ kind: "invalid_request", message: 'thinking must be an object with a `type`: "enabled", "adaptive" or "disabled"', code: "invalid_request", param: "thinking" })
  }
  const asked = isObj(config) && typeof config.effort === "string" ? EFFORTS[config.effort] : undefined
  switch (thinking?.type) {
    case "disabled":
      return { enabled: false, show: false }
    case "enabled":
      return { enabled: true, effort: asked ?? effortOfBudget(thinking.budget_tokens), show: thinking.display !== "omitted" }
    case "adaptive":
      return { enabled: true, effort: asked ?? "high", show: thinking.display !== "omitted" }
    default:
      // No thinking (or a kind Nexus does not know): an effort alone, if any.
      return asked ? { effort: asked, show: false } : undefined
  }
}
