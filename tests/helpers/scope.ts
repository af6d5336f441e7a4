/**
 * What a test starts (emulators, gateways, processes) is stopped after it, pass or
 * fail, so one test's servers never answer in the next.
 */
import { afterEach } from "bun:test"
import type { Emulator } from "../../emulators/index.ts"
import { startNexus, type TestNexus } from "./nexus.ts"

export function testScope() {
  let stops: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    const now = stops
    stops = []
    await Promise.all(now.map((stop) => stop().catch(() => {})))
  })
  return {
    /** Run `stop` after the current test. */
    defer(stop: () => Promise<unknown>): void {
      stops.push(stop)
    },
    async emulator<T extends Emulator>(starting: Promise<T>): Promise<T> {
      const e = await starting
      stops.push(() => e.stop())
      return e
    },
    async nexus(...args: Parameters<typeof startNexus>): Promise<TestNexus> {
      const n = await startNexus(...args)
      stops.push(() => n.stop(0))
      return n
    },
  }
}
