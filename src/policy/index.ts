/**
 * The policy stages, in the order they run. Adding a policy means adding a file here
 * and a line in `createStages`.
 * @module
 */
import type { BackendFilter, PolicyInput, PolicyStage } from "../core/policy.ts"
import type { RoutingConfig } from "../config/types.ts"
import type { Registry } from "../registry/registry.ts"
import type { ApiKey } from "../core/api-key.ts"
import { budgetStage, type BudgetStatus } from "./budget.ts"
import { keyStage, type KeySpend } from "./keys.ts"
import { privacyZone } from "./privacy-zone.ts"
import { tier } from "./tier.ts"

export function createStages(deps: {
  config: () => RoutingConfig
  registry: Registry
  budget: () => BudgetStatus | undefined
  keySpend: (key: ApiKey) => KeySpend
}): PolicyStage[] {
  return [keyStage(deps.keySpend), privacyZone(deps.config), tier(deps.config, deps.registry), budgetStage(deps.budget, deps.registry)]
}

/** Run every stage: throws the first rejection, else returns the exclusions to apply. */
export function applyPolicy(input: PolicyInput, stages: readonly PolicyStage[]): readonly BackendFilter[] {
  let out: BackendFilter[] | undefined
  for (const stage of stages) {
    const verdict = stage.check(input)
    if (!verdict) continue
    if ("reject" in verdict) throw verdict.reject
    ;(out ??= []).push(verdict.exclude)
  }
  return out ?? NONE
}

/** No stage excluded anything (nearly every request): one shared empty list. */
const NONE: readonly BackendFilter[] = Object.freeze([])

/** Each stage's verdict on one backend and model, for the route explainer. */
export function verdicts(input: PolicyInput, stages: readonly PolicyStage[]): (backend: Parameters<BackendFilter>[0], model: string) => Record<string, string> {
  const checked = stages.map((s) => ({ name: s.name, verdict: s.check(input) }))
  return (b, model) => {
    const out: Record<string, string> = {}
    for (const { name, verdict } of checked) {
      if (!verdict) out[name] = "allowed"
      else if ("reject" in verdict) out[name] = `rejected: ${verdict.reject.message}`
      else out[name] = verdict.exclude(b, model)?.reason ?? "allowed"
    }
    return out
  }
}
