/**
 * `scripts/bench.ts --fleet` end to end on a short day (one hour of it, twice, so the
 * night between is jumped over): both configurations replay, and the figures are in
 * simulated time (a cold request waits the coder's whole simulated load, whatever the
 * speed-up), so the bench cannot rot unnoticed.
 */
import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { fleetFlags, type FleetReport } from "../../scripts/bench/fleet.ts"
import { TEAM_MODELS } from "../../scripts/bench/fleet-day.ts"

const ROOT = join(import.meta.dir, "../..")
/** The coder model's load on the emulated boxes: 9 GiB at 2 s a GiB, simulated. */
const CODER_LOAD_MS = TEAM_MODELS.coder.gib * 2000

async function bench(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([process.execPath, join(ROOT, "scripts/bench.ts"), "--fleet", ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" })
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
  return { code, out, err }
}

describe("bench --fleet", () => {
  test("replays 09:00-10:00 on two days with fleet management off and on: cold loads and time to first token in simulated time", async () => {
    const { code, out, err } = await bench("--days", "2", "--hours", "9-10", "--scale", "200", "--json")
    expect(err).not.toContain("error")
    expect(code).toBe(0)
    const r = (JSON.parse(out) as { fleet: FleetReport }).fleet
    expect(Object.keys(r.runs)).toEqual(["off", "on"])
    for (const run of Object.values(r.runs)) {
      expect(run.requests).toBeGreaterThan(5)
      expect(run.failed).toBe(0)
      // After a night, the coder model has expired everywhere: the day's first request waits for it.
      expect(run.coldLoads).toBeGreaterThanOrEqual(1)
      expect(run.waitedRequests).toBeGreaterThanOrEqual(run.coldLoads)
      expect(run.ttft.max).toBeGreaterThanOrEqual(CODER_LOAD_MS)
      expect(run.ttft.p50).toBeLessThan(CODER_LOAD_MS)
    }
    expect([r.days, r.scale]).toEqual([2, 200])
    expect(r.p95Ratio).toBeCloseTo(r.runs.off.ttft.p95 / r.runs.on.ttft.p95, 6)
  }, 60_000)

  test("prints the table and both targets with PASS or MISS", async () => {
    const { code, out } = await bench("--days", "1", "--hours", "9-10", "--scale", "200")
    expect(code).toBe(0)
    expect(out).toContain("| fleet | requests |")
    expect(out).toMatch(/\n\| off +\|/)
    expect(out).toMatch(/cold loads, off \/ on: .* \(target >= 3x\) (PASS|MISS)/)
    expect(out).toMatch(/TTFT p95, off \/ on: .* \(target >= 2x\) (PASS|MISS)/)
  }, 60_000)

  test("--days and --hours outside what makes sense are refused by name", () => {
    expect(fleetFlags("3", "9-12", "100")).toEqual({ days: 3, hours: [9, 12], scale: 100 })
    expect(() => fleetFlags(undefined, undefined, "0")).toThrow("--scale takes simulated ms per real ms from 1 to 1000")
    for (const days of ["0", "1.5", "x"]) expect(() => fleetFlags(days, undefined)).toThrow("--days takes a whole number of days from 1 to 60")
    for (const hours of ["12-9", "9", "9-25", "-3", "a-b"]) expect(() => fleetFlags(undefined, hours)).toThrow("--hours takes FROM-TO")
  })
})
