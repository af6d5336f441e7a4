/**
 * Spend: the cost of each finished request from the usage its backend reported (an
 * estimate, marked as such, only when it reported none), recorded in the ledger and in
 * `nexus_cost_usd_total`; the budget's status for the policy stage, the headers, the
 * `nexus_budget_*` gauges and the `budget` block of `/v1/stats`.
 * @module
 */
import { isCloud, type Backend } from "../core/backend.ts"
import type { RequestRecord } from "../core/events.ts"
import { costOf, priceOf } from "../core/pricing.ts"
import type { Usage } from "../core/usage.ts"
import type { NexusConfig } from "../config/types.ts"
import type { Ledger } from "../persist/ledger.ts"
import { budgetStatus, type BudgetStatus } from "../policy/budget.ts"
import { Counter, Gauge, type Registry } from "./prom.ts"

export type Spend = ReturnType<typeof createSpend>

export interface CostInput {
  backend?: Backend
  model?: string
  status: number
  usage?: Usage
}

/** What a local backend's answer costs (shared: callers only read it). */
const FREE: Readonly<{ usd: number; estimated: boolean }> = Object.freeze({ usd: 0, estimated: false })

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

export function createSpend(ledger: Ledger, config: () => NexusConfig, registry: Registry) {
  const costTotal = new Counter({ name: "nexus_cost_usd_total", help: "Cost of requests in US dollars, from reported usage", labelNames: ["backend", "model"], registers: [registry] })
  const status = (): BudgetStatus | undefined => {
    const cfg = config().routing.budget
    return cfg ? budgetStatus(cfg, ledger.monthToDate()) : undefined
  }
  new Gauge({
    name: "nexus_budget_spending_usd",
    help: "Month-to-date spend in US dollars",
    registers: [registry],
    collect() {
      this.set(ledger.monthToDate())
    },
  })
  new Gauge({
    name: "nexus_budget_limit_usd",
    help: "Monthly budget limit in US dollars (0 when no budget is set)",
    registers: [registry],
    collect() {
      this.set(config().routing.budget?.monthly_limit_usd ?? 0)
    },
  })

  return {
    ledger,
    status,
    /**
     * The cost of a finished request, or undefined when it is not known (no price, no
     * answer). `estimatedPrompt`: prompt tokens Nexus estimated from the request, for a
     * backend that reports nothing.
     */
    cost(r: CostInput, estimatedPrompt: number): { usd: number; estimated: boolean } | undefined {
      if (!r.backend || !r.model || r.status >= 400) return undefined
      if (!isCloud(r.backend)) return FREE
      const price = priceOf(r.model, config().pricing)
      if (!price) return undefined
      if (r.usage) return { usd: costOf(r.usage, price), estimated: false }
      return { usd: costOf({ prompt_tokens: estimatedPrompt, completion_tokens: 0 }, price), estimated: true }
    },
    /** The subscriber on finished requests: counts what they cost. */
    observe(r: RequestRecord): void {
      if (!r.costUsd || !r.backend) return
      const model = r.servedModel ?? r.model
      costTotal.inc({ backend: r.backend, model }, r.costUsd)
      ledger.record({ at: Date.now(), model, backend: r.backend, usd: r.costUsd, estimated: r.costEstimated })
    },
    /** The `budget` block of /v1/stats. */
    stats() {
      const s = status()
      const rows = ledger.rows()
      return {
        month: new Date().toISOString().slice(0, 7),
        spent_usd: round(ledger.monthToDate()),
        limit_usd: s?.limitUsd ?? null,
        status: s?.state ?? null,
        utilization_percent: s ? round(s.utilization, 2) : null,
        remaining_usd: s ? round(s.remainingUsd) : null,
        hard_limit_action: s?.action ?? null,
        by_model: rows.map((r) => ({ model: r.model, backend: r.backend, spent_usd: round(r.usd), requests: r.requests, estimated_requests: r.estimated })),
      }
    },
    /** X-Nexus-Budget-* while a budget is set. */
    headers(): Record<string, string> {
      const s = status()
      if (!s) return NO_HEADERS
      return {
        "x-nexus-budget-status": s.state,
        "x-nexus-budget-utilization": Number.isFinite(s.utilization) ? s.utilization.toFixed(1) : "100.0",
        "x-nexus-budget-remaining": s.remainingUsd.toFixed(4),
      }
    },
  }
}

function round(n: number, digits = 6): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}
