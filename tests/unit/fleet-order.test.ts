/**
 * Where a cold model's request may go, for any fleet: never to a cold box where loading
 * would evict a pinned model or one in use (unless its load is under way there already),
 * never to a cold box while a full box holds or loads the model, boxes holding it before
 * cold ones, the box loading it first, and every box left out said why.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import type { Backend, ModelInfo } from "../../src/core/backend.ts"
import type { PinConfig } from "../../src/config/types.ts"
import { createFleet, type ColdExclusion } from "../../src/fleet/fleet.ts"
import { evictionBlock, evictionClass } from "../../src/fleet/placement.ts"
import { createRegistry } from "../../src/registry/registry.ts"

const GIB = 1024 ** 3
const MODEL = "big"

const boxArb = fc.record({
  memory: fc.option(fc.integer({ min: 4, max: 24 }), { nil: undefined }),
  /** The model here: cold, loaded, or an always-loaded server's (unknown). */
  target: fc.constantFrom<"cold" | "warm" | "unknown">("cold", "cold", "warm", "unknown"),
  others: fc.array(fc.record({ gb: fc.integer({ min: 1, max: 10 }), pinned: fc.boolean(), busy: fc.boolean() }), { maxLength: 3 }),
  full: fc.boolean(),
})

type Box = typeof boxArb extends fc.Arbitrary<infer T> ? T : never

function fleetOf(boxes: Box[], claimAt: number | undefined) {
  const registry = createRegistry()
  const pins: PinConfig[] = []
  const fleet = createFleet(registry, { config: () => ({ enabled: true, loading_status: false, auto: false, prewarm_minutes: 5, idle_unload_minutes: 15, pins }) })
  const backends = boxes.map((b, i) => {
    const id = `b${i}`
    const backend = registry.add({ id, name: id, url: `http://${id}`, type: "ollama", source: "config", priority: 50, zone: "restricted", tier: 1, memoryBytes: b.memory === undefined ? undefined : b.memory * GIB })
    const models: ModelInfo[] = b.others.map((m, j) => ({ id: `m${j}`, capabilities: {}, loaded: true, sizeBytes: m.gb * GIB }))
    models.push({ id: MODEL, capabilities: {}, loaded: b.target === "cold" ? false : b.target === "warm" ? true : undefined, sizeBytes: 6 * GIB })
    registry.setModels(id, models)
    b.others.forEach((m, j) => {
      if (m.pinned) pins.push({ model: `m${j}`, backend: id })
      if (m.busy) fleet.attempt(backend, `m${j}`)
    })
    return registry.get(id)!
  })
  if (claimAt !== undefined) fleet.claim(MODEL, backends[claimAt]!.id)
  return { fleet, backends }
}

describe("ordering candidates for a cold model", () => {
  test("holds for any fleet, pins, requests in flight, full boxes and claim", () => {
    fc.assert(
      fc.property(fc.array(boxArb, { minLength: 1, maxLength: 4 }), fc.option(fc.nat(3), { nil: undefined }), (boxes, claimPick) => {
        const claimAt = claimPick === undefined ? undefined : claimPick % boxes.length
        const { fleet, backends } = fleetOf(boxes, claimAt)
        const claimedId = claimAt === undefined ? undefined : backends[claimAt]!.id
        const full = backends.filter((_, i) => boxes[i]!.full)
        const candidates = backends.filter((_, i) => !boxes[i]!.full).map((backend) => ({ backend }))
        const excluded: ColdExclusion[] = []
        const out = fleet.order(MODEL, candidates, full.length ? full : undefined, excluded)
        const loadedAs = (b: Backend) => b.models.get(MODEL)!.loaded

        // A subset of the candidates, each once; each one left out is excluded once, with a reason.
        const kept = new Set(out.map((c) => c.backend.id))
        expect(kept.size).toBe(out.length)
        for (const c of out) expect(candidates).toContain(c)
        const left = candidates.filter((c) => !kept.has(c.backend.id)).map((c) => c.backend.name)
        expect(excluded.map((e) => e.backend).sort()).toEqual(left.sort())
        for (const e of excluded) expect(e.reason.length).toBeGreaterThan(0)
        // Only cold boxes are ever left out.
        for (const e of excluded) expect(loadedAs(backends.find((b) => b.name === e.backend)!)).toBe(false)

        const serving = full.some((b) => b.id === claimedId || loadedAs(b) === true)
        for (const c of out) {
          if (loadedAs(c.backend) !== false) continue
          expect(serving).toBe(false)
          const facts = fleet.facts
          if (c.backend.id !== claimedId) expect(evictionClass(c.backend, MODEL, facts)).toBeLessThan(2)
        }
        for (const e of excluded) {
          const block = evictionBlock(backends.find((b) => b.name === e.backend)!, MODEL, fleet.facts)
          if (e.kind === "placement") expect(block?.waitable).toBe(false)
          if (block && !block.waitable && !serving) expect(e).toMatchObject({ kind: "placement", reason: expect.stringContaining("would evict pinned") })
        }
        // Boxes holding the model come before the cold ones.
        const lastWarm = out.findLastIndex((c) => loadedAs(c.backend) === true)
        const firstCold = out.findIndex((c) => loadedAs(c.backend) === false)
        if (lastWarm >= 0 && firstCold >= 0) expect(lastWarm).toBeLessThan(firstCold)
        // Cold on every candidate: the box whose load is under way goes first; a plan claims nothing.
        if (out.length && candidates.every((c) => loadedAs(c.backend) === false) && kept.has(claimedId ?? "")) expect(out[0]!.backend.id).toBe(claimedId!)
        expect(fleet.loadingOn(MODEL)).toBe(claimedId)
      }),
      { numRuns: 400 }
    )
  })
})

describe("what loading would evict", () => {
  test("blocked exactly when placement's class is 2; waiting helps unless the pinned models alone leave no room", () => {
    const modelArb = fc.record({ gb: fc.integer({ min: 1, max: 10 }), pinned: fc.boolean(), busy: fc.boolean() })
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 24 }), fc.array(modelArb, { maxLength: 4 }), (memory, others) => {
        const { fleet, backends } = fleetOf([{ memory, target: "cold", others, full: false }], undefined)
        const b = backends[0]!
        const block = evictionBlock(b, MODEL, fleet.facts)
        expect(block !== undefined).toBe(evictionClass(b, MODEL, fleet.facts) === 2)
        if (!block) return
        const pinnedGb = others.filter((m) => m.pinned).reduce((n, m) => n + m.gb, 0)
        expect(block.waitable).toBe(pinnedGb + 6 <= memory)
        expect(block.reason).toStartWith(`loading ${MODEL} here would evict `)
      }),
      { numRuns: 300 }
    )
  })
})
