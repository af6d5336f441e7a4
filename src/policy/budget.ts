/**
 * The monthly budget. Below the soft limit nothing changes. From the soft limit on, a
 * cloud backend is used only when nothing local can serve the model. At the limit the
 * configured action applies: `warn` lets everything through, `block_cloud` excludes
 * open-zone backends, `block_all` refuses the request. The limit is compared with what is
 * committed: the month's recorded spend plus what cloud requests in flight may still
 * cost (their reservations), so concurrent requests cannot overshoot it by more than one
 * request's estimate. A ledger that cannot be read leaves spend unknown: cloud stays
 * blocked unless `on_ledger_error = "open"`.
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
  /** Recorded spend this month. */
  spentUsd: number
  /** Reserved by cloud requests in flight, not recorded yet. */
  reservedUsd: number
  /** What is left of the limit after spend and reservations. */
  remainingUsd: number
  /** Percent of the limit committed (spent and reserved; may exceed 100). */
  utilization: number
  action: BudgetConfig["hard_limit_action"]
  /** Set while the ledger cannot be read and that keeps cloud blocked. */
  ledgerError?: string
}

export function budgetStatus(cfg: BudgetConfig, spentUsd: number, reservedUsd = 0, ledgerError?: string): BudgetStatus {
  const limit = cfg.monthly_limit_usd
  const committed = spentUsd + reservedUsd
  const utilization = limit > 0 ? (committed / limit) * 100 : committed > 0 ? Infinity : 100
  const state: BudgetState = committed >= limit ? "hard_limit" : utilization >= cfg.soft_limit_percent ? "soft_limit" : "normal"
  return {
    state,
    limitUsd: limit,
    spentUsd,
    reservedUsd,
    remainingUsd: Math.max(0, limit - committed),
    utilization,
    action: cfg.hard_limit_action,
    ledgerError: ledgerError !== undefined && cfg.on_ledger_error !== "open" ? ledgerError : undefined,
  }
}

/** The start of the exclusion reason while the ledger cannot be read. */
export const LEDGER_UNREADABLE = "budget: the spend ledger cannot be read"

export const usd = (n: number) => `$${n.toFixed(n < 1 ? 4 : 2)}`

/** "monthly budget exhausted: $10.02 spent of the $10.00 limit". */
export function exhausted(s: BudgetStatus): string {
  const reserved = s.reservedUsd > 0 ? ` and ${usd(s.reservedUsd)} reserved by requests in flight` : ""
  return `the monthly budget is exhausted: ${usd(s.spentUsd)} spent${reserved} this month of the ${usd(s.limitUsd)} limit (routing.budget.monthly_limit_usd)`
}

export function budgetStage(budget: () => BudgetStatus | undefined, registry: Registry): PolicyStage {
  /** Read at each routing decision, so a request waiting in the queue sees a limit crossed meanwhile. */
  const exclude: BackendFilter = (b, model) => {
    const s = budget()
    if (!s || !isCloud(b)) return undefined
    if (s.ledgerError !== undefined) {
      const reason = `${LEDGER_UNREADABLE} (${s.ledgerError}), so this month's spend is unknown; cloud backends stay blocked until it can be read (routing.budget.on_ledger_error = "open" allows them)`
      return { rule: "budget", reason, ledgerUnreadable: true }
    }
    if (s.state === "normal") return undefined
    if (s.state === "hard_limit") return s.action === "warn" ? undefined : { rule: "budget", reason: `budget: ${exhausted(s)}` }
    // Soft limit: cloud only while no local backend can take the model.
    const local = registry.backendsFor(model).some((o) => !isCloud(o) && isRoutable(o))
    return local ? { rule: "budget", reason: `budget: soft limit reached (${Math.round(s.utilization)}% of ${usd(s.limitUsd)}); a local backend serves this model` } : undefined
  }
  return {
    name: "budget",
    check() {
      const s = budget()
      if (!s) return undefined
      // Refusing everything waits for recorded spend: reservations only keep cloud requests out.
      if (s.action === "block_all" && s.spentUsd >= s.limitUsd) {
        return { reject: new NexusError({ kind: "unavailable", message: `Request refused: ${exhausted(s)}; hard_limit_action is block_all.`, code: "budget_exhausted", context: { budget: { limit_usd: s.limitUsd, spent_usd: s.spentUsd, reserved_usd: s.reservedUsd, action: s.action } } }) }
      }
      return { exclude }
    },
  }
}
