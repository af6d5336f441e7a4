/**
 * `nexus budget`: the month's cloud spend by model and backend, and where it stands
 * against the limit, from the running server.
 * @module
 */
import { defineCommand } from "citty"
import type { Spend } from "../observability/cost.ts"
import { api, serverUrl, urlArg } from "./client.ts"
import { table } from "./table.ts"

type BudgetBlock = ReturnType<Spend["stats"]>

const money = (n: number | null) => (n === null ? "-" : `$${n.toFixed(4)}`)

export const budgetCommand = defineCommand({
  meta: {
    name: "budget",
    description: "Show this month's spend by model and backend, and the budget.\n\nExamples:\n  nexus budget\n  nexus budget --json",
  },
  args: {
    ...urlArg,
    json: { type: "boolean", description: "Print JSON: {month, spent_usd, reserved_usd, limit_usd, status, utilization_percent, remaining_usd, hard_limit_action, ledger, by_model: [...]}" },
  },
  async run({ args }) {
    const { budget } = await api<{ budget: BudgetBlock }>(serverUrl(args.url), "/v1/stats")
    if (args.json) return void process.stdout.write(`${JSON.stringify(budget, null, 2)}\n`)
    const limit = budget.limit_usd === null ? "no limit set ([routing.budget] monthly_limit_usd)" : `${money(budget.limit_usd)} limit, ${budget.utilization_percent}% used, ${money(budget.remaining_usd)} left (${budget.status}; at the limit: ${budget.hard_limit_action})`
    process.stdout.write(`${budget.month}: ${money(budget.spent_usd)} spent; ${limit}\n`)
    if (!budget.by_model.length) return void process.stdout.write("No spend this month.\n")
    process.stdout.write(
      table(
        ["MODEL", "BACKEND", "REQUESTS", "SPENT"],
        budget.by_model.map((r) => [r.model, r.backend, String(r.requests), `${money(r.spent_usd)}${r.estimated_requests ? ` (${r.estimated_requests} estimated)` : ""}`])
      )
    )
  },
})
