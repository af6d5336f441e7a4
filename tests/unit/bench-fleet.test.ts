/**
 * The fleet bench's own machinery: the simulated clock fires every timer a jump passes,
 * in the order they were due and never before, and leaves the rest; the team's day is
 * the same for the same seed and keeps each user to their hours.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { simClock } from "../../scripts/bench/sim-clock.ts"
import { teamDay, TEAM_MODELS } from "../../scripts/bench/fleet-day.ts"

const HOUR = 3_600_000

describe("simulated clock", () => {
  test("a jump fires the timers due on the way in due order, each no earlier than due, and no others", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ ms: fc.integer({ min: 0, max: 10 * HOUR }), cancel: fc.boolean() }), { maxLength: 6 }),
        fc.integer({ min: 0, max: 12 * HOUR }),
        async (specs, jump) => {
          // The clock runs at real speed between jumps: a timer due within a few ms of the
          // jump's end may fall either side of it, so those cases say nothing.
          fc.pre(specs.every((s) => Math.abs(s.ms - jump) > 50))
          const clock = simClock(1_000_000, 1)
          const start = clock.now()
          const fired: { i: number; at: number }[] = []
          const handles = specs.map((s, i) => clock.setTimeout(() => void fired.push({ i, at: clock.now() }), s.ms))
          const due = specs.map((s) => start + s.ms)
          specs.forEach((s, i) => s.cancel && clock.clearTimeout(handles[i]))
          const target = start + jump
          await clock.advanceTo(target)
          clock.stop()
          expect(clock.now()).toBeGreaterThanOrEqual(target)
          const expected = specs.flatMap((s, i) => (!s.cancel && due[i]! <= target ? [i] : []))
          expect(fired.map((f) => f.i).sort((a, b) => a - b)).toEqual(expected)
          for (let k = 0; k < fired.length; k++) {
            expect(fired[k]!.at).toBeGreaterThanOrEqual(due[fired[k]!.i]!)
            if (k > 0) expect(due[fired[k]!.i]!).toBeGreaterThanOrEqual(due[fired[k - 1]!.i]!)
          }
        }
      ),
      { numRuns: 200 }
    )
  })

  test("a periodic task runs once before the next timer a jump fires, however many intervals it skipped", async () => {
    const clock = simClock(0, 1)
    const seen: string[] = []
    clock.every(30_000, async () => void seen.push(`probe@${Math.floor(clock.now() / 60_000)}`))
    clock.setTimeout(() => void seen.push("timer"), 10 * 60_000)
    await clock.advanceTo(60 * 60_000)
    clock.stop()
    expect(seen).toEqual(["probe@10", "timer", "probe@60"])
  })
})

describe("a team's day", () => {
  test("the same seed and day give the same arrivals, sorted, each user in their hours", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 30 }), (seed, day) => {
        const arrivals = teamDay(seed, day)
        expect(teamDay(seed, day)).toEqual(arrivals)
        for (let i = 1; i < arrivals.length; i++) expect(arrivals[i]!.at).toBeGreaterThanOrEqual(arrivals[i - 1]!.at)
        for (const a of arrivals) {
          const h = a.at / HOUR
          if (a.model === TEAM_MODELS.coder.id) expect((h >= 9 && h < 12.5) || (h >= 13.5 && h < 18)).toBe(true)
          else if (a.model === TEAM_MODELS.chat.id) expect(h >= 19 && h < 23).toBe(true)
          else expect([a.model, a.kind, h >= 2 && h < 3]).toEqual([TEAM_MODELS.embed.id, "embed", true])
        }
        expect(new Set(arrivals.map((a) => a.user))).toEqual(new Set(["indexer", "coder-1", "coder-2", "chatter"]))
      }),
      { numRuns: 300 }
    )
  })
})
