/**
 * Spend: the cost of each finished request from the usage its backend reported (an
 * estimate, marked as such, when it reported none or the stream was cut), recorded in
 * the ledger and in `nexus_cost_usd_total`; what cloud requests in flight have reserved
 * against the budget; the budget's status for the policy stage, the headers, the
 * `nexus_budget_*` gauges and the `budget` block of `/v1/stats` (with the ledger's health).
 * @module
 */
import { isCloud, type Backend } from "../core/backend.ts"
import type { RequestRecord } from "../core/events.ts"
import type { Logger } from "../core/logger.ts"
import { costOf, priceOf, worstCost } from "../core/pricing.ts"
import type { CanonicalRequest } from "../core/request.ts"
import type { Usage } from "../core/usage.ts"
import type { NexusConfig } from "../config/types.ts"
import { monthOf, type Ledger, type LedgerFault } from "../persist/ledger.ts"
import { budgetStatus, type BudgetStatus } from "../policy/budget.ts"
import { watchLedger } from "./ledger-watch.ts"
import { Counter, Gauge, type Registry } from "./prom.ts"

export type Spend = ReturnType<typeof createSpend>

export interface CostInput {
  backend?: Backend
  model?: string
  status: number
  usage?: Usage
  /** Set when a stream did not end with its usage: the completion tokens relayed. */
  relayedTokens?: number
}

/** A cloud attempt's claim on the budget while it is in flight. */
export interface SpendHold {
  /** Give it back (once; later calls do nothing): the real cost is recorded in the same step. */
  release(): void
}

/** What is held against one cap: the sum of the holds in flight, and how many there are. */
export interface Holds {
  reservedUsd: number
  holds: number
}

/**
 * Reserve what a cloud attempt may cost against `tally`: its prompt and its whole output
 * budget at the model's price. Undefined for a local backend or a model without a price.
 */
export function holdWorstCost(tally: Holds, req: CanonicalRequest, backend: Backend, model: string, pricing: NexusConfig["pricing"]): SpendHold | undefined {
  if (!isCloud(backend)) return undefined
  const price = priceOf(model, pricing)
  if (!price) return undefined
  const worst = worstCost(req.requirements, price, backend.models.get(model)?.contextLength, req.operation === "embeddings")
  tally.reservedUsd += worst
  tally.holds++
  let holding = true
  return {
    release() {
      if (!holding) return
      holding = false
      // Adding and subtracting floats drifts: with nothing in flight it is exactly 0.
      tally.reservedUsd = --tally.holds === 0 ? 0 : tally.reservedUsd - worst
    },
  }
}

/** What a local backend's answer costs (shared: callers only read it). */
const FREE: Readonly<{ usd: number; estimated: boolean }> = Object.freeze({ usd: 0, estimated: false })

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

export function createSpend(openLedger: (onFault: (f: LedgerFault) => void) => Ledger, config: () => NexusConfig, registry: Registry, log: Logger) {
  const costTotal = new Counter({ name: "nexus_cost_usd_total", help: "Cost of requests in US dollars, from reported usage", labelNames: ["backend", "model"], registers: [registry] })
  const { ledger, view: ledgerHealth } = watchLedger(openLedger, config, registry, log)
  const held: Holds = { reservedUsd: 0, holds: 0 }

  const status = (): BudgetStatus | undefined => {
    const cfg = config().routing.budget
    return cfg ? budgetStatus(cfg, ledger.monthToDate(), held.reservedUsd, ledger.readError()) : undefined
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
    name: "nexus_budget_reserved_usd",
    help: "US dollars reserved by cloud requests in flight, not recorded yet",
    registers: [registry],
    collect() {
      this.set(held.reservedUsd)
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
     * Reserve what a cloud attempt may cost, before it is sent, while a budget is set: its
     * prompt and its whole output budget at the model's price. Local attempts, and every
     * attempt without a budget, reserve nothing and pay nothing for it.
     */
    reserve(req: CanonicalRequest, backend: Backend, model: string): SpendHold | undefined {
      if (!config().routing.budget) return undefined
      return holdWorstCost(held, req, backend, model, config().pricing)
    },
    /**
     * The cost of a finished request, or undefined when it is not known (no price, no
     * answer). `estimatedPrompt`: prompt tokens Nexus estimated from the request, for a
     * backend that reports nothing. A stream that did not end with its usage is charged
     * its prompt (the backend's count if it gave one) and the completion tokens relayed.
     */
    cost(r: CostInput, estimatedPrompt: number): { usd: number; estimated: boolean } | undefined {
      if (!r.backend || !r.model || r.status >= 400) return undefined
      if (!isCloud(r.backend)) return FREE
      const price = priceOf(r.model, config().pricing)
      if (!price) return undefined
      if (r.usage && r.relayedTokens === undefined) return { usd: costOf(r.usage, price), estimated: false }
      const prompt = r.usage?.prompt_tokens ?? estimatedPrompt
      const completion = Math.max(r.usage?.completion_tokens ?? 0, r.relayedTokens ?? 0)
      return { usd: costOf({ prompt_tokens: prompt, completion_tokens: completion }, price), estimated: true }
    },
    /** The subscriber on finished requests: counts what they cost. */
    observe(r: RequestRecord): void {
      if (!r.costUsd || !r.backend) return
      const model = r.servedModel ?? r.model
      costTotal.inc({ backend: r.backend, model }, r.costUsd)
      ledger.record({ at: Date.now(), model, backend: r.backend, usd: r.costUsd, estimated: r.costEstimated })
    },
    ledgerHealth,
    /** The `budget` block of /v1/stats. */
    stats() {
      const s = status()
      const rows = ledger.rows()
      return {
        month: monthOf(Date.now()),
        spent_usd: round(ledger.monthToDate()),
        reserved_usd: round(held.reservedUsd),
        limit_usd: s?.limitUsd ?? null,
        status: s?.state ?? null,
        utilization_percent: s ? round(s.utilization, 2) : null,
        remaining_usd: s ? round(s.remainingUsd) : null,
        hard_limit_action: s?.action ?? null,
        ledger: ledgerHealth(),
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

/** `n` to `digits` decimals (US dollars in answers: to the millionth). */
export function round(n: number, digits = 6): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}
