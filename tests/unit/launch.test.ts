/**
 * `nexus launch`'s arithmetic and its shell lines: the budgets it derives from a context
 * window, and `--print` output that a POSIX shell reads back as the exact values.
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import { limitsFor, shellQuote } from "../../src/cli/launch.ts"

test("for every window, an answer fits with room to spare and compaction starts before the window is full", () => {
  fc.assert(
    fc.property(fc.integer({ min: 4, max: 10_000_000 }), (context) => {
      const { output, compactAt } = limitsFor(context)
      expect(output).toBeGreaterThanOrEqual(1)
      expect(output).toBeLessThanOrEqual(Math.min(32_000, context / 4))
      expect(compactAt + output).toBe(context)
      expect(compactAt).toBeGreaterThan(0)
    }),
    { numRuns: 500 }
  )
})

test("for every value, the quoted form reads back in sh as the value itself", async () => {
  // Any text but NUL (which no argument or environment value can hold).
  const special = fc.constantFrom("'", '"', "\\", "$", "`", " ", "\n", "\t", "*", "?", "!", "{", "}", ";", "&", "|", "~", "#", "=")
  const values = fc.sample(fc.string({ unit: fc.oneof(special, fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 })) }).filter((s) => !s.includes("\0")), 300)
  const script = `printf '%s\\0' ${values.map(shellQuote).join(" ")}`
  const proc = Bun.spawn(["sh", "-c", script], { stdout: "pipe" })
  const out = await new Response(proc.stdout).text()
  expect(await proc.exited).toBe(0)
  expect(out.split("\0").slice(0, -1)).toEqual(values)
})
