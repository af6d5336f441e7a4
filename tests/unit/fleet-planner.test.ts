/**
 * The fleet planner's promises, for every fleet it may see: auto never unloads a model in
 * flight or pinned, nor anything but an extra copy idle long enough; it pre-warms only a
 * model cold everywhere with demand about to start, where loading evicts nothing in use;
 * a second copy goes only where the model fits as is; one load per model. And the demand
 * table's arithmetic: hours of the week, weekly decay, persistence rows.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { isCloud, type Backend, type ModelInfo } from "../../src/core/backend.ts"
import { createDemand, hourLabel, hourOfWeek, hourStart } from "../../src/fleet/demand.ts"
import { evictionClass, type PlacementFacts } from "../../src/fleet/placement.ts"
import { keepsGrowing, MIN_WEEKLY_DEMAND, planFleet, type ExtraCopy, type PlanFacts, type QueueSamples } from "../../src/fleet/planner.ts"

const GIB = 1024 ** 3
const MODELS = ["m0", "m1", "m2"]
const HOUR = 3_600_000
/** Sunday 6 December 2026, 00:00 local time. */
const WEEK_START = new Date(2026, 11, 6).getTime()

const boxArb = fc.record({
  memoryGb: fc.option(fc.integer({ min: 2, max: 12 }), { nil: undefined }),
  models: fc.array(fc.record({ listed: fc.boolean(), loaded: fc.boolean(), gb: fc.integer({ min: 1, max: 6 }), inUse: fc.integer({ min: 0, max: 3 }), pinned: fc.boolean() }), {
    minLength: MODELS.length,
    maxLength: MODELS.length,
  }),
  managed: fc.boolean(),
  // A server that loads and unloads (Ollama), one that keeps its models always loaded (vLLM), a cloud.
  kind: fc.constantFrom("ollama", "vllm", "cloud"),
})

const fleetArb = fc.record({
  boxes: fc.array(boxArb, { minLength: 1, maxLength: 4 }),
  demand: fc.array(fc.integer({ min: 0, max: 10 }), { minLength: MODELS.length, maxLength: MODELS.length }),
  queues: fc.array(fc.record({ box: fc.nat(), model: fc.nat(), depths: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 4 }) }), { maxLength: 4 }),
  extras: fc.array(fc.record({ box: fc.nat(), model: fc.nat(), idleMin: fc.integer({ min: 0, max: 40 }) }), { maxLength: 4 }),
  minute: fc.integer({ min: 0, max: 7 * 24 * 60 - 1 }),
  prewarm: fc.integer({ min: 0, max: 60 }),
  idleUnload: fc.integer({ min: 1, max: 30 }),
})

type FleetCase = typeof fleetArb extends fc.Arbitrary<infer T> ? T : never

function build(f: FleetCase) {
  const inUse = new Map<string, number>()
  const pinned = new Set<string>()
  const backends: Backend[] = f.boxes.map((spec, i) => {
    const id = `b${i}`
    const models = new Map<string, ModelInfo>()
    spec.models.forEach((m, j) => {
      if (!m.listed) return
      // Only a server that loads and unloads says what is loaded.
      models.set(MODELS[j]!, { id: MODELS[j]!, capabilities: {}, loaded: spec.kind === "ollama" ? m.loaded : undefined, sizeBytes: m.gb * GIB })
      if (m.loaded && m.inUse && spec.kind === "ollama") inUse.set(`${id}/${MODELS[j]}`, m.inUse)
      if (m.pinned) pinned.add(`${id}/${MODELS[j]}`)
    })
    return {
      id, name: id, url: `http://${id}`, type: spec.kind === "cloud" ? "openai" : spec.kind, source: "config", status: "healthy", priority: 50, zone: spec.kind === "cloud" ? "open" : "restricted", tier: 1,
      memoryBytes: spec.memoryGb === undefined ? undefined : spec.memoryGb * GIB, models, stats: { inFlight: 0, requests: 0, errors: 0, errorRate: 0 },
    } as Backend
  })
  const placement: PlacementFacts = {
    inUse: (b, m) => inUse.get(`${b}/${m}`) ?? 0,
    pinned: (m, b) => pinned.has(`${b}/${m}`),
    loadMs: () => undefined,
  }
  const now = WEEK_START + f.minute * 60_000
  const pick = <T>(list: T[], i: number) => list[i % list.length]!
  const queues: QueueSamples[] = f.queues.map((q) => ({ backend: pick(backends, q.box), model: pick(MODELS, q.model), depths: q.depths }))
  // Auto keeps one record per copy.
  const extras: ExtraCopy[] = [...new Map(f.extras.map((e) => [`${e.box % backends.length}/${e.model % MODELS.length}`, e])).values()].map((e) => ({ backend: pick(backends, e.box), model: pick(MODELS, e.model), from: "elsewhere", lastUsed: now - e.idleMin * 60_000 }))
  const facts: PlanFacts = {
    prewarmMinutes: f.prewarm,
    idleUnloadMinutes: f.idleUnload,
    managed: new Set(backends.filter((_, i) => f.boxes[i]!.managed && f.boxes[i]!.kind === "ollama")),
    holders: (m) => backends.filter((b) => b.models.has(m)),
    placement,
    demandModels: MODELS,
    demand: (m) => f.demand[MODELS.indexOf(m)]!,
    loading: () => undefined,
    prewarmed: () => false,
    queues,
    extras,
  }
  return { facts, now, backends, placement }
}

describe("the plan", () => {
  test("never unloads in flight, pinned or not idle; loads only where the rules allow, once per model", () => {
    fc.assert(
      fc.property(fleetArb, (f) => {
        const { facts, now, backends, placement } = build(f)
        const actions = planFleet(facts, now)
        const byName = (name: string) => backends.find((b) => b.name === name)!
        const loads = actions.filter((a) => a.action === "load")
        expect(new Set(loads.map((a) => a.model)).size).toBe(loads.length)
        for (const a of actions) {
          const b = byName(a.backend)
          if (a.action === "unload") {
            expect(a.kind).toBe("idle")
            expect(facts.managed.has(b)).toBe(true)
            expect(placement.inUse(b.id, a.model)).toBe(0)
            expect(placement.pinned(a.model, b.name)).toBe(false)
            const extra = facts.extras.find((e) => e.backend === b && e.model === a.model)!
            expect(now - extra.lastUsed).toBeGreaterThanOrEqual(f.idleUnload * 60_000)
          }
          if (a.action !== "load") continue
          expect(facts.managed.has(b)).toBe(true)
          expect(b.models.get(a.model)?.loaded).toBe(false)
          if (a.kind === "prewarm") {
            expect(evictionClass(b, a.model, placement)).toBeLessThanOrEqual(1)
            // A cloud listing it is no warm copy; an always-loaded local server is.
            expect(facts.holders(a.model).every((h) => isCloud(h) || h.models.get(a.model)?.loaded === false)).toBe(true)
            const slot = hourStart(now) + HOUR
            expect(slot - now).toBeLessThanOrEqual(f.prewarm * 60_000)
            expect(facts.demand(a.model, hourOfWeek(slot))).toBeGreaterThanOrEqual(MIN_WEEKLY_DEMAND)
          } else {
            expect(a.kind).toBe("migrate")
            expect(evictionClass(b, a.model, placement)).toBe(0)
            expect(facts.queues.some((q) => q.model === a.model && q.backend !== b && keepsGrowing(q.depths))).toBe(true)
          }
        }
        // And the other way: a model with demand about to start, cold on every local server
        // listing it, and on a box that loads models, gets a pre-warm (or a reason not to).
        const slot = hourStart(now) + HOUR
        for (const m of MODELS) {
          const holders = facts.holders(m)
          const due = f.prewarm > 0 && slot - now <= f.prewarm * 60_000 && facts.demand(m, hourOfWeek(slot)) >= MIN_WEEKLY_DEMAND
          const cold = holders.every((h) => isCloud(h) || h.models.get(m)?.loaded === false)
          if (due && cold && holders.some((h) => facts.managed.has(h))) expect(actions.some((a) => a.kind === "prewarm" && a.model === m)).toBe(true)
        }
      }),
      { numRuns: 500 }
    )
  })

  test("a queue keeps growing only over three samples that never fall and end higher", () => {
    expect(keepsGrowing([2, 3, 4])).toBe(true)
    expect(keepsGrowing([2, 2, 3])).toBe(true)
    expect(keepsGrowing([2, 2, 2])).toBe(false)
    expect(keepsGrowing([3, 2, 4])).toBe(false)
    expect(keepsGrowing([0, 1, 1])).toBe(false)
    expect(keepsGrowing([2, 3])).toBe(false)
  })
})

describe("demand", () => {
  test("hours of the week in local time, labelled", () => {
    const monday9 = new Date(2026, 11, 7, 9, 30).getTime()
    expect(hourOfWeek(monday9)).toBe(24 + 9)
    expect(hourLabel(24 + 9)).toBe("Mon 09:00–10:00")
    expect(hourLabel(167)).toBe("Sat 23:00–00:00")
    expect(hourStart(monday9)).toBe(new Date(2026, 11, 7, 9).getTime())
  })

  test("a count halves each week, so just before its hour comes round it reads as that hour's weekly requests", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 167 }), (perWeek, weeks, hour) => {
        const d = createDemand()
        const at = WEEK_START + hour * HOUR + 10 * 60_000
        for (let w = 0; w < weeks; w++) for (let i = 0; i < perWeek; i++) d.record("m", at + w * 7 * 24 * HOUR)
        const before = at + weeks * 7 * 24 * HOUR - 15 * 60_000
        // A steady pattern approaches its weekly count from below: 1/2, 3/4, 7/8 … of it.
        const expected = perWeek * (1 - 0.5 ** weeks)
        expect(d.expected("m", hour, before)).toBeCloseTo(expected * 0.5 ** (-15 / (7 * 24 * 60)), 6)
        expect(d.expected("m", (hour + 1) % 168, before)).toBe(0)
      }),
      { numRuns: 200 }
    )
  })

  test("what changed is handed over once for saving, and reads back the same", () => {
    const d = createDemand()
    const t = new Date(2026, 11, 7, 9, 10).getTime()
    d.record("a", t)
    d.record("a", t)
    d.record("b", t + HOUR)
    const rows = d.takeChanged()
    expect(rows.map((r) => [r.model, r.hour, r.count])).toEqual([["a", 33, 2], ["b", 34, 1]])
    expect(d.takeChanged()).toEqual([])
    const again = createDemand()
    again.restore([...rows, { model: "bad", hour: 999, count: 1, at: t }])
    expect(again.expected("a", 33, t)).toBe(2)
    expect(again.models()).toEqual(["a", "b"])
  })
})
