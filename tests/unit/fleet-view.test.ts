/**
 * `nexus fleet`'s text, for any fleet: the memory bar is always 20 cells (full, never
 * longer, when the loaded models exceed the budget), every loaded model has its own line
 * with its size, an always-loaded box is one line naming its models, and the requests
 * waiting in Nexus's queue are one line by model.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { renderFleet } from "../../src/cli/fleet-view.ts"
import type { FleetState } from "../../src/http/fleet-admin.ts"

const GIB = 1024 ** 3
const name = fc.stringMatching(/^[a-z0-9][a-z0-9:./-]{0,15}$/)

const boxArb = fc.record({
  backend: name,
  managed: fc.boolean(),
  budgetGb: fc.option(fc.integer({ min: 1, max: 256 }), { nil: null }),
  models: fc.uniqueArray(fc.record({ model: name, gb: fc.integer({ min: 0, max: 64 }), inFlight: fc.nat(5), pinned: fc.boolean() }), { selector: (m) => m.model, maxLength: 5 }),
})

type Box = typeof boxArb extends fc.Arbitrary<infer T> ? T : never

function state(boxes: Box[], waiting: Record<string, number> = {}, loading: Record<string, string> = {}): FleetState {
  return {
    backends: boxes.map((b) => ({
      backend: b.backend,
      type: b.managed ? "ollama" : "vllm",
      lifecycle: b.managed ? "managed" : "always_loaded",
      memory_bytes: b.managed && b.budgetGb !== null ? b.budgetGb * GIB : null,
      used_bytes: b.managed ? b.models.reduce((n, m) => n + m.gb * GIB, 0) : 0,
      always_loaded: b.managed ? [] : b.models.map((m) => m.model),
      loaded: b.managed ? b.models.map((m) => ({ model: m.model, size_bytes: m.gb * GIB, vram_bytes: null, expires_at: null, in_flight: m.inFlight, pinned: m.pinned })) : [],
      load_ms: {},
    })),
    waiting,
    loading,
    pins: [],
    requests: { warm: 0, cold: 0 },
    recent_loads: [],
  }
}

describe("nexus fleet text", () => {
  test("for any fleet: 20-cell bars, a line per loaded model, one line per always-loaded box", () => {
    fc.assert(
      fc.property(fc.uniqueArray(boxArb, { selector: (b) => b.backend, minLength: 1, maxLength: 4 }), (boxes) => {
        const lines = renderFleet(state(boxes), 0).split("\n")
        for (const b of boxes) {
          if (!b.managed) {
            expect(lines.filter((l) => l.startsWith(`${b.backend} (vllm): always loaded`))).toHaveLength(1)
            continue
          }
          const head = lines.indexOf(`${b.backend} (ollama)`)
          expect(head).toBeGreaterThanOrEqual(0)
          const memory = lines[head + 1]!
          if (b.budgetGb === null) expect(memory).toContain("no budget known")
          else {
            const used = b.models.reduce((n, m) => n + m.gb, 0)
            const cells = memory.match(/\[([#-]*)\]/)![1]!
            expect(cells).toHaveLength(20)
            expect(cells.replace(/-/g, "").length).toBe(Math.min(20, Math.round((used / b.budgetGb) * 20)))
          }
          for (const [i, m] of b.models.entries()) {
            const line = lines[head + 2 + i]!.trimStart()
            expect(line.startsWith(`${m.model} `)).toBe(true)
            const facts = line.slice(m.model.length).trim()
            expect(facts.startsWith(`${m.gb.toFixed(1)} GB`)).toBe(true)
            expect(facts.endsWith("pinned")).toBe(m.pinned)
            expect(facts.includes(`${m.inFlight} in flight`)).toBe(m.inFlight > 0)
          }
        }
      }),
      { numRuns: 300 }
    )
  })

  test("for any requests waiting in the queue: one line naming each model with its count, none when nobody waits", () => {
    fc.assert(
      fc.property(fc.dictionary(name, fc.integer({ min: 1, max: 500 }), { maxKeys: 4 }), (waiting) => {
        const lines = renderFleet(state([{ backend: "a", managed: true, budgetGb: null, models: [] }], waiting), 0).split("\n")
        const entries = Object.entries(waiting)
        const expected = entries.length ? [`Waiting for a slot: ${entries.map(([m, n]) => `${m} ${n}`).join(", ")}`] : []
        expect(lines.filter((l) => l.startsWith("Waiting for a slot"))).toEqual(expected)
      }),
      { numRuns: 300 }
    )
  })

  test("for any loads under way: one line naming each model and its box, none when nothing loads", () => {
    fc.assert(
      fc.property(fc.dictionary(name, name, { maxKeys: 4 }), (loading) => {
        const lines = renderFleet(state([{ backend: "a", managed: true, budgetGb: null, models: [] }], {}, loading), 0).split("\n")
        const entries = Object.entries(loading)
        const expected = entries.length ? [`Loading now: ${entries.map(([m, b]) => `${m} on ${b}`).join(", ")}`] : []
        expect(lines.filter((l) => l.startsWith("Loading now"))).toEqual(expected)
      }),
      { numRuns: 300 }
    )
  })

  test("names servers chose never reach the terminal as control characters", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 12 }), (model) => {
        const out = renderFleet(state([{ backend: "a", managed: true, budgetGb: 8, models: [{ model, gb: 1, inFlight: 0, pinned: false }] }], { [model]: 1 }, { [model]: "a" }), 0)
        // Only the line breaks Nexus writes itself.
        expect(out.replace(/\n/g, "")).not.toMatch(/\p{Cc}/u)
      }),
      { numRuns: 300 }
    )
  })
})
