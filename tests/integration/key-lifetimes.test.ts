/**
 * An API key's lifetime is read by the one duration grammar (core/duration.ts): for every
 * spelling the admin API sets the expiry the grammar means, and refuses what it refuses
 * with a message naming the field and the forms allowed.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { startOllama } from "../../emulators/index.ts"
import { DURATION_UNITS, parseDuration } from "../../src/core/duration.ts"
import { backend } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"

const scope = testScope()

const unit = fc.constantFrom("s", "m", "h", "d", "w", "H", "D", "W")
const spelling = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 400 }), fc.constantFrom("", " "), unit), { minLength: 1, maxLength: 3 })
  .map((terms) => terms.map(([n, gap, u]) => `${n}${gap}${u}`).join(""))

describe("API key lifetimes", () => {
  test("every spelling of a duration, compound or not, sets the expiry it means", async () => {
    const home = await scope.emulator(startOllama({ models: ["llama3.2:latest"] }))
    const n = await scope.nexus({ backends: [backend("home", home.url, "ollama")] })
    let i = 0
    await fc.assert(
      fc.asyncProperty(spelling, async (expires) => {
        const before = Date.now()
        const res = await n.post("/v1/keys", { name: `k${i++}`, expires })
        const after = Date.now()
        expect(res.status).toBe(201)
        const at = Date.parse(((await res.json()) as { expires_at: string }).expires_at)
        const ms = parseDuration(expires)!
        expect(at).toBeGreaterThanOrEqual(before + ms)
        expect(at).toBeLessThanOrEqual(after + ms)
      }),
      { numRuns: 60 },
    )
    expect(parseDuration("1d12h")).toBe(36 * DURATION_UNITS.h)
  })

  test("a lifetime outside the grammar, zero, or past any date is refused, naming the field and the forms", async () => {
    const home = await scope.emulator(startOllama({ models: ["llama3.2:latest"] }))
    const n = await scope.nexus({ backends: [backend("home", home.url, "ollama")] })
    for (const expires of ["3 fortnights", "0d", "10000000w", "90", "-1d"]) {
      const res = await n.post("/v1/keys", { name: "bad", expires })
      expect(res.status).toBe(400)
      const body = (await res.json()) as { error: { message: string; param?: string } }
      expect(body.error.message).toContain('expires: expected a duration like "90d"')
      expect(body.error.message).toContain("ms, s, m, h, d, w")
    }
  })
})
