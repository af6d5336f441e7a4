/**
 * Anthropic's reasoning controls in every form: never refused, switched on or off as the
 * client said, with an effort a server understands, and shown only when not omitted.
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import { decodeMessages } from "../../src/ingress/anthropic/decode.ts"

const extra = fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== "type" && k !== "display" && k !== "__proto__"), fc.jsonValue(), { maxKeys: 3 })
const thinking = fc.oneof(
  fc.record({ type: fc.constant("enabled"), budget_tokens: fc.oneof(fc.integer({ min: 1024, max: 200_000 }), fc.constant(undefined)) }),
  fc.record({ type: fc.constant("adaptive"), display: fc.constantFrom("summarized", "omitted", undefined) }),
  fc.record({ type: fc.constant("disabled") }),
  fc.constant(undefined)
)
const effort = fc.oneof(fc.constantFrom("low", "medium", "high", "xhigh", "max"), fc.string({ maxLength: 6 }), fc.constant(undefined))

test("every form of thinking and effort is accepted and read as the client meant it", () => {
  fc.assert(
    fc.property(thinking, extra, effort, (t, more, e) => {
      const body: Record<string, unknown> = { model: "m", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }
      if (t) body.thinking = { ...more, ...t }
      if (e !== undefined) body.output_config = { effort: e }
      const { reasoning, canonical } = decodeMessages(body)
      expect(canonical.thinking).toBeUndefined()
      expect(canonical.output_config).toBeUndefined()
      if (!t) {
        expect(reasoning?.enabled).toBeUndefined()
        expect(reasoning?.show ?? false).toBe(false)
        return
      }
      expect(reasoning!.enabled).toBe(t.type !== "disabled")
      expect(reasoning!.show).toBe(t.type !== "disabled" && (t as { display?: string }).display !== "omitted")
      if (reasoning!.effort !== undefined) expect(["low", "medium", "high"]).toContain(reasoning!.effort)
      if (t.type === "adaptive") expect(reasoning!.effort).toBeDefined()
    }),
    { numRuns: 300 }
  )
})
