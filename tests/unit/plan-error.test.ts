/**
 * The refusal a client reads is built from the facts each policy exclusion carries (its
 * rule, the tier it needs, where that need comes from), never from the words of its
 * reason: rewording a reason cannot change the error's code, numbers or remedies.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { planError } from "../../src/http/plan-error.ts"
import type { Exclusion, Plan } from "../../src/routing/router.ts"

type Unavailable = Extract<Plan, { kind: "unavailable" }>

function unavailable(excluded: Exclusion[]): Unavailable {
  return { ok: false, kind: "unavailable", requested: "m", resolved: "m", excluded, waitable: false }
}

const words = fc.string({ maxLength: 40 })
const source = fc.constantFrom("policy" as const, "header" as const, "best" as const)

describe("planError reads an exclusion's facts, not its words", () => {
  test("the required tier, the rule and the remedy come from the fields, for every wording", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ reason: words, requiredTier: fc.integer({ min: 1, max: 5 }), tierSource: source }), { minLength: 1, maxLength: 4 }), (tiers) => {
        const excluded = tiers.map((t, i): Exclusion => ({ backend: `b${i}`, model: "m", kind: "policy", rule: "tier", ...t }))
        const err = planError(unavailable(excluded))
        expect(err.code).toBe("tier_unavailable")
        expect(err.context?.required_tier).toBe(Math.max(...tiers.map((t) => t.requiredTier)))
        const remedies = err.context?.remedies as string[]
        expect(remedies.some((r) => r.includes("X-Nexus-Flexible"))).toBe(tiers.some((t) => t.tierSource === "best"))
        expect(remedies.some((r) => r.includes("X-Nexus-Min-Tier"))).toBe(tiers.some((t) => t.tierSource === "header"))
        expect(remedies.some((r) => r.includes("min_tier in the model's"))).toBe(tiers.some((t) => t.tierSource === "policy"))
      }),
      { numRuns: 300 },
    )
  })

  test("privacy and budget are told apart by their rule, for every wording", () => {
    fc.assert(
      fc.property(words, fc.boolean(), fc.boolean(), (reason, budget, unreadable) => {
        const rule = budget ? ("budget" as const) : ("privacy" as const)
        const err = planError(unavailable([{ backend: "cloud", model: "m", kind: "policy", rule, reason, ...(budget && unreadable ? { ledgerUnreadable: true } : {}) }]))
        if (!budget) expect(err.code).toBe("privacy_zone_restricted")
        else expect(err.code).toBe(unreadable ? "budget_ledger_unreadable" : "budget_exhausted")
        expect(err.context?.excluded_by).toEqual(budget ? { budget: ["cloud"] } : { privacy_zone: ["cloud"] })
      }),
      { numRuns: 300 },
    )
  })

  test("an api key's exclusion is none of privacy, tier or budget, whatever its words say", () => {
    const err = planError(unavailable([{ backend: "b", model: "m", kind: "policy", rule: "api_key", reason: "tier: the required tier 5 (policy min_tier)" }]))
    expect(err.code).toBe("no_backend_available")
  })
})
