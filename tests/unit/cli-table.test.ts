/**
 * CLI tables print names that servers choose (model ids, backend names, key names): a
 * control character in one must show as an escape, never reach the terminal (a clear
 * screen, a title change, a forged line), and the columns still line up.
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import { statusMark, table } from "../../src/cli/table.ts"
import { CONTROL, hostileString } from "../helpers/hostile.ts"

/** Our own colour codes (statusMark's SGR sequences) are the only escapes a table may hold. */
const SGR = /\u001b\[[0-9;]*m/g

test("any cell: one line per row, no control character but our own colours, columns aligned", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(hostileString(), hostileString(), fc.constantFrom("healthy", "unhealthy"), fc.boolean()), { minLength: 1, maxLength: 4 }), (rows) => {
      const cells = rows.map(([a, b, status, color]) => [a, statusMark(status, color), b])
      const out = table(["NAME", "STATUS", "MODELS"], cells)
      expect(out.endsWith("\n")).toBe(true)
      const lines = out.slice(0, -1).split("\n")
      expect(lines).toHaveLength(rows.length + 1)
      for (const line of lines) expect(CONTROL.test(line.replace(SGR, ""))).toBe(false)
      // The status column starts at the same place on every row: nothing in the first cell moved it.
      const starts = lines.slice(1).map((line) => line.replace(SGR, "").search(/[✓✗] (healthy|unhealthy)/))
      expect(new Set(starts).size).toBe(1)
    }),
    { numRuns: 300 }
  )
})

test("an escaped control character reads as its code", () => {
  expect(table(["A"], [["a\u001b[2Jb\nc\u0000"]])).toBe("A\na\\u001b[2Jb\\u000ac\\u0000\n")
})
