/**
 * The schema of `[[routing.policies]]`, `[routing.budget]` and `[pricing."<glob>"]`.
 * @module
 */
import * as v from "valibot"
import { oneOf, int, table, text } from "./schema-parts.ts"
import { BUDGET_ACTIONS, LEDGER_ERROR_MODES, PRIVACY_LEVELS } from "./types.ts"

export const modelGlob = v.pipe(
  text('a model name or glob, like "gpt-4o*"'),
  v.regex(/^[^\p{Cc}]+$/u, "expected a model name or glob without control characters")
)

export const PolicySchema = table(
  {
    model_pattern: modelGlob,
    privacy: v.optional(oneOf(PRIVACY_LEVELS), "unrestricted"),
    min_tier: v.optional(int(1, 5)),
  },
  "[[routing.policies]]"
)

const usd = (what: string) => v.pipe(v.number(`expected ${what}`), v.minValue(0, `expected ${what}`), v.maxValue(1e9, `expected ${what}`))

export const BudgetSchema = table(
  {
    monthly_limit_usd: usd("a number of US dollars, 0 or more"),
    soft_limit_percent: v.optional(v.pipe(v.number("expected a percentage from 0 to 100"), v.minValue(0, "expected a percentage from 0 to 100"), v.maxValue(100, "expected a percentage from 0 to 100")), 75),
    hard_limit_action: v.optional(oneOf(BUDGET_ACTIONS), "block_cloud"),
    // Absent means "closed" (left out of the output so that budgets written in code need not name it).
    on_ledger_error: v.optional(oneOf(LEDGER_ERROR_MODES)),
  },
  "[routing.budget]"
)

export const PriceSchema = table(
  {
    input_per_million: usd("US dollars per million input tokens"),
    output_per_million: usd("US dollars per million output tokens"),
  },
  '[pricing."<model glob>"]'
)

