/**
 * The monthly budget. Below the soft limit nothing changes. From the soft limit on, a
 * cloud backend is used only when nothing local can serve the model. At the limit the
 * configured action applies: `warn` lets everything through, `block_cloud` excludes
 * open-zone backends, `block_all` refuses the request. Spend is read from the ledger,
 * recorded from real usage as requests finish, so concurrent requests can overshoot the
 * limit only by what those already in flight cost.
 * @module
 */
import { isCloud, isRoutable } from "../core/backend.ts"
import { NexusError } from "../core/errors.ts"
import type { BackendFilter, PolicyStage } from "../core/policy.ts"
import type { BudgetConfig } from "../config/types.ts"
import type { Registry } from "../registry/registry.ts"

export type BudgetState = "normal" | "soft_limit" | "hard_limit"

export interface BudgetStatus {
  state: BudgetState
  limitUsd: number
  spentUsd: number
  remainingUsd: number
  /** Percent of the limit spent (may exceed 100). */
  utilization: number
  action: BudgetConfig["hard_limit_action"]
}

export function budgetStatus(cfg: BudgetConfig, spentUsd: number): BudgetStatus {
  const limit = cfg.monthly_limit_usd
  const utilization = limit > 0 ? (spentUsd / limit) * 100 : spentUsd > 0 ? Infinity : 100
  const state: BudgetState = spentUsd >= limit ? "hard_limit" : utilization >= cfg.soft_limit_percent ? "soft_limit" : "normal"
  return { state, limitUsd: limit, spentUsd, remainingUsd: Math.max(0, limit - spentUsd), utilization, action: cfg.hard_limit_action }
}

export const usd = (n: number) => `$${n.toFixed(n < 1 ? 4 : 2)}`

/** "monthly budget exhausted: $10.02 spent of the $10.00 limit". */
export function exhausted(s: BudgetStatus): string {
  return `the monthly budget is exhausted: ${usd(s.spentUsd)} spent this month of the ${usd(s.limitUsd)} limit (routing.budget.monthly_limit_usd)`
}

export function budgetStage(budget: () => BudgetStatus | undefined, registry: Registry): PolicyStage {
  /** Read at each routing decision, so a request waiting in the queue sees a limit crossed meanwhile. */
  const exclude = (b: Parameters<BackendFilter>[0], model: string): string | undefined => {
    const s = budget()
    if (!s || s.state === "normal" || !isCloud(b)) return undefined
    if (s.state === "hard_limit") return s.action === "warn" ? undefined : `budget: ${exhausted(s)}`
    // Soft limit: cloud only while no local backend can take the model.
    const local = registry.backendsFor(model).some((o) => !isCloud(o) && isRoutable(o))
    return local ? `budget: soft limit reached (${Math.round(s.utilization)}% of ${usd(s.limitUsd)}); a local backend serves this model` : undefined
  }
  return {
    name: "budget",
    check() {
      const s = budget()
      if (!s) return undefined
      if (s.state === "hard_limit" && s.action === "block_all") {
        return { reject: new NexusError({ kind: "unavailable", message: `Request refused: ${exhausted(s)}; hard_limit_action is block_all.`, code: "budget_exhausted", context: { budget: { limit_usd: s.limitUsd, spent_usd: s.spentUsd, action: s.action } } }) }
      }
      return { exclude }
    },
  }
}
