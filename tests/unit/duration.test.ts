/**
 * One duration grammar for every place that takes one (core/duration.ts): every
 * spelling of a sum of terms means that sum, anything else is refused, and the
 * keep-alive reads exactly what the grammar reads (plus its bare seconds and negatives).
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { DURATION_UNITS, parseDuration, type DurationUnit } from "../../src/core/duration.ts"
import { keepAliveMs } from "../../src/fleet/duration.ts"

const unit = fc.constantFrom(...(Object.keys(DURATION_UNITS) as DurationUnit[]))
const blank = fc.constantFrom("", "", " ", "  ", "\t")
const upper = (s: string, mask: boolean[]) => [...s].map((c, i) => (mask[i] ? c.toUpperCase() : c)).join("")
const number = fc.oneof(
  fc.integer({ min: 0, max: 100_000 }).map(String),
  fc.tuple(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 99 })).map(([a, b]) => `${a}.${String(b).padStart(2, "0")}`),
)
const term = fc.record({ n: number, unit, mask: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }), before: blank, between: blank })
const spelled = fc.record({ terms: fc.array(term, { minLength: 1, maxLength: 4 }), after: blank })

function spell(d: { terms: { n: string; unit: string; mask: boolean[]; before: string; between: string }[]; after: string }): string {
  return d.terms.map((t) => `${t.before}${t.n}${t.between}${upper(t.unit, t.mask)}`).join("") + d.after
}
const meant = (d: { terms: { n: string; unit: DurationUnit }[] }) => Math.round(d.terms.reduce((sum, t) => sum + Number(t.n) * DURATION_UNITS[t.unit], 0))

describe("the duration grammar", () => {
  test("every spelling of a sum of terms means that sum, in any case and with blanks", () => {
    fc.assert(
      fc.property(spelled, (d) => {
        expect(parseDuration(spell(d))).toBe(meant(d))
      }),
      { numRuns: 400 },
    )
  })

  test("a keep-alive reads every duration the grammar reads, the same way", () => {
    fc.assert(
      fc.property(spelled, (d) => {
        expect(keepAliveMs(spell(d))).toBe(parseDuration(spell(d)))
      }),
      { numRuns: 300 },
    )
  })

  test("anything outside the grammar is refused, never misread (and nothing throws)", () => {
    const junk = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.tuple(spelled, fc.constantFrom("x", "y", "-", "1", ".", "min", "hours", "µs", "1e3s")).map(([d, tail]) => spell(d) + tail),
      fc.tuple(fc.constantFrom("", "-", "+", ".", "e", "h"), spelled).map(([head, d]) => head + spell(d)),
    )
    fc.assert(
      fc.property(junk, (text) => {
        const ms = parseDuration(text)
        const valid = /^\s*(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w)\s*)+$/i.test(text)
        if (!valid) expect(ms).toBeUndefined()
        else expect(Number.isSafeInteger(ms)).toBe(true)
      }),
      { numRuns: 400 },
    )
  })

  test("a bare number counts only in the unit its caller names", () => {
    expect(parseDuration("30")).toBeUndefined()
    expect(parseDuration("30", "s")).toBe(30_000)
    expect(parseDuration(" 1.5 ", "s")).toBe(1500)
    expect(parseDuration("9".repeat(400) + "w")).toBeUndefined()
  })

  test("a keep-alive keeps its own forms: seconds as a number, any negative for ever", () => {
    expect(keepAliveMs(90)).toBe(90_000)
    expect(keepAliveMs("90")).toBe(90_000)
    expect(keepAliveMs(-1)).toBe(-1)
    expect(keepAliveMs("-5m")).toBe(-1)
    expect(keepAliveMs("1h30m")).toBe(5_400_000)
    expect(keepAliveMs("2d")).toBe(172_800_000)
    expect(keepAliveMs("soon")).toBeUndefined()
    expect(keepAliveMs(Number.NaN)).toBeUndefined()
  })
})
