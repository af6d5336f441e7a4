/**
 * The fleet's pure decisions: pin windows (any days, any times, past midnight) against
 * an independent minute-of-week reading, placement never choosing a box that evicts more
 * than another would, keep-alive durations, and the cold first-byte allowance; and pins
 * read through a fleet whose clock the test sets.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import type { Backend, ModelInfo } from "../../src/core/backend.ts"
import { WEEKDAYS, type PinConfig } from "../../src/config/types.ts"
import { keepAliveMs } from "../../src/fleet/duration.ts"
import { coldAllowanceMs, createFleet } from "../../src/fleet/fleet.ts"
import { pinActive, pinRemainingMs } from "../../src/fleet/pins.ts"
import { evictionClass, placementOrder } from "../../src/fleet/placement.ts"
import { createRegistry } from "../../src/registry/registry.ts"

const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`

function coveredBounds(pin: PinConfig) {
  const m = (s: string | undefined, d: number) => (s ? Number(s.slice(0, 2)) * 60 + Number(s.slice(3)) : d)
  return { from: m(pin.from, 0), to: m(pin.to, 1440) }
}

const pinArb = fc.record(
  {
    model: fc.constant("m"),
    backend: fc.constant("b"),
    days: fc.option(fc.subarray([...WEEKDAYS], { minLength: 1 }), { nil: undefined }),
    from: fc.option(fc.integer({ min: 0, max: 1439 }).map(hhmm), { nil: undefined }),
    to: fc.option(fc.oneof(fc.integer({ min: 0, max: 1439 }).map(hhmm), fc.constant("24:00")), { nil: undefined }),
  },
  { requiredKeys: ["model", "backend"] }
)
// A week of local time, minute by minute (5 Jan 2025 was a Sunday).
const whenArb = fc.integer({ min: 0, max: 7 * 1440 - 1 }).map((m) => new Date(2025, 0, 5 + Math.floor(m / 1440), Math.floor((m % 1440) / 60), m % 60))

/** The minutes of the week a pin covers, counted out one by one. */
function coveredMinutes(pin: PinConfig): Set<number> {
  const from = pin.from ? Number(pin.from.slice(0, 2)) * 60 + Number(pin.from.slice(3)) : 0
  const to = pin.to ? Number(pin.to.slice(0, 2)) * 60 + Number(pin.to.slice(3)) : 1440
  const week = 7 * 1440
  const out = new Set<number>()
  for (let d = 0; d < 7; d++) {
    if (pin.days && !pin.days.includes(WEEKDAYS[d]!)) continue
    const end = from < to ? to : from === to ? from + 1440 : to + 1440
    for (let m = from; m < end; m++) out.add((d * 1440 + m) % week)
  }
  return out
}

describe("pin windows", () => {
  test("active exactly in the minutes of the week the window covers", () => {
    fc.assert(
      fc.property(pinArb, whenArb, (p, now) => {
        const minute = now.getDay() * 1440 + now.getHours() * 60 + now.getMinutes()
        expect(pinActive(p as PinConfig, now)).toBe(coveredMinutes(p as PinConfig).has(minute))
      }),
      { numRuns: 400 }
    )
  })

  test("a pinned load lasts until its window closes, no longer", () => {
    fc.assert(
      fc.property(pinArb, whenArb, (p, now) => {
        const pin = p as PinConfig
        fc.pre(pinActive(pin, now))
        const left = pinRemainingMs(pin, now)
        if (!pin.days && !pin.from && !pin.to) return expect(left).toBe(-1)
        expect(left).toBeGreaterThan(0)
        expect(pinActive(pin, new Date(now.getTime() + left - 60_000))).toBe(true)
        const from = coveredBounds(pin)
        if (from.from !== from.to && !(from.from === 0 && from.to === 1440)) expect(pinActive(pin, new Date(now.getTime() + left))).toBe(false)
      }),
      { numRuns: 400 }
    )
  })

  test("a fleet reads pins with the clock it is given", () => {
    let now = new Date(2025, 0, 6, 9, 0) // a Monday, 09:00
    const pins: PinConfig[] = [{ model: "coder", backend: "gpu", days: ["mon"], from: "08:00", to: "18:00" }]
    const fleet = createFleet(createRegistry(), { config: () => ({ enabled: true, loading_status: false, auto: false, prewarm_minutes: 5, idle_unload_minutes: 15, pins }), now: () => now })
    expect(fleet.isPinned("coder", "gpu")).toBe(true)
    now = new Date(2025, 0, 6, 18, 0)
    expect(fleet.isPinned("coder", "gpu")).toBe(false)
    now = new Date(2025, 0, 7, 9, 0) // Tuesday
    expect(fleet.isPinned("coder", "gpu")).toBe(false)
    fleet.pin("coder", "gpu")
    expect(fleet.isPinned("coder", "gpu")).toBe(true)
  })
})

const GIB = 1024 ** 3

function box(id: string, memoryGb: number | undefined, loaded: { id: string; gb: number }[], inFlight = 0): Backend {
  const models = new Map<string, ModelInfo>(loaded.map((m) => [m.id, { id: m.id, capabilities: {}, loaded: true, sizeBytes: m.gb * GIB }]))
  models.set("new", { id: "new", capabilities: {}, loaded: false, sizeBytes: 2 * GIB })
  return {
    id, name: id, url: `http://${id}`, type: "ollama", source: "config", status: "healthy", priority: 50, zone: "restricted", tier: 1,
    memoryBytes: memoryGb === undefined ? undefined : memoryGb * GIB, models, stats: { inFlight, requests: 0, errors: 0, errorRate: 0 },
  }
}

describe("placement", () => {
  test("the chosen box never evicts more than another candidate would", () => {
    const boxArb = fc.record({
      memory: fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined }),
      loaded: fc.array(fc.record({ gb: fc.integer({ min: 1, max: 8 }), busy: fc.boolean() }), { maxLength: 4 }),
      inFlight: fc.integer({ min: 0, max: 3 }),
    })
    fc.assert(
      fc.property(fc.array(boxArb, { minLength: 1, maxLength: 5 }), (boxes) => {
        const busy = new Set<string>()
        const backends = boxes.map((b, i) => {
          const loaded = b.loaded.map((m, j) => ({ id: `m${i}-${j}`, gb: m.gb }))
          b.loaded.forEach((m, j) => m.busy && busy.add(`b${i}\u0000m${i}-${j}`))
          return box(`b${i}`, b.memory, loaded, b.inFlight)
        })
        const facts = { inUse: (b: string, m: string) => (busy.has(`${b}\u0000${m}`) ? 1 : 0), pinned: () => false, loadMs: () => undefined }
        const [first] = placementOrder(backends.map((backend) => ({ backend })), "new", facts)
        const classes = backends.map((b) => evictionClass(b, "new", facts))
        expect(evictionClass(first!.backend, "new", facts)).toBe(Math.min(...classes))
        // Class 0 means it fits beside what is loaded.
        if (Math.min(...classes) === 0 && first!.backend.memoryBytes !== undefined) {
          const used = [...first!.backend.models.values()].filter((m) => m.loaded).reduce((n, m) => n + m.sizeBytes!, 0)
          expect(used + 2 * GIB).toBeLessThanOrEqual(first!.backend.memoryBytes)
        }
      }),
      { numRuns: 300 }
    )
  })

  test("a pinned model counts as in use", () => {
    const b = box("gpu", 4, [{ id: "coder", gb: 3 }])
    const facts = { inUse: () => 0, pinned: (m: string) => m === "coder", loadMs: () => undefined }
    expect(evictionClass(b, "new", facts)).toBe(2)
    expect(evictionClass(b, "new", { ...facts, pinned: () => false })).toBe(1)
  })
})

describe("durations and allowances", () => {
  test("keep-alive spellings", () => {
    expect(keepAliveMs("30m")).toBe(1_800_000)
    expect(keepAliveMs("1h30m")).toBe(5_400_000)
    expect(keepAliveMs(90)).toBe(90_000)
    expect(keepAliveMs("0")).toBe(0)
    expect(keepAliveMs("-1")).toBe(-1)
    expect(keepAliveMs(-5)).toBe(-1)
    for (const bad of ["soon", "5x", "", "m", null, {}]) expect(keepAliveMs(bad)).toBeUndefined()
  })

  test("a cold model's first-byte allowance follows its learned load time, with a margin", () => {
    fc.assert(
      fc.property(fc.option(fc.integer({ min: 0, max: 3_600_000 }), { nil: undefined }), fc.integer({ min: 1, max: 600_000 }), fc.integer({ min: 1, max: 600_000 }), (learned, warm, cold) => {
        const ms = coldAllowanceMs(learned, warm, cold)
        if (learned === undefined) expect(ms).toBe(cold)
        else expect(ms).toBeGreaterThan(learned + warm - 1)
      }),
      { numRuns: 300 }
    )
  })
})
