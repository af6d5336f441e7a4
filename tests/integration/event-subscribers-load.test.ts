/**
 * A thousand `/v1/events` clients that never read, with Nexus under load (its own process,
 * measured through /proc, the cap raised to 1,000 so only the bound on each client's
 * backlog protects it): Nexus drops them and closes their connections, they cost it
 * neither memory nor throughput, and what they used comes back once they go. Throughput is
 * compared as CPU time per request with and without them, in the same run.
 *
 * The run happens in a network namespace with 64 KiB socket buffers (event-load.ts): with
 * this machine's defaults each of the thousand sockets would take in several MB, GBs of
 * kernel memory in all, before its client was seen not to read.
 */
import { beforeAll, describe, expect, test } from "bun:test"
import { MB } from "../../scripts/bench/proc.ts"
import { eventLoadAvailable, runEventLoad } from "../helpers/event-load.ts"
import type { EventLoadResult } from "../helpers/event-load-run.ts"
import { lacking } from "../helpers/skip.ts"

const CLIENTS = 1000
/** Requests while the clients are there: their events are well past what the socket
 * buffers and the 256 KiB bound hold together. */
const ROUND = 4000
/** Once they are gone, Nexus's memory is back within this factor of where it was before
 * they came (it does more work in between, so not exactly where it was). */
const RSS_RATIO = 1.5

describe.skipIf(lacking("cannot make a network namespace with small socket buffers (needs root and unshare)", eventLoadAvailable()))(`${CLIENTS} event clients that never read, under load`, () => {
  let run: EventLoadResult

  beforeAll(async () => {
    run = await runEventLoad(CLIENTS, ROUND, RSS_RATIO)
    console.log(`event load: ${JSON.stringify(run)}`)
  }, 60_000)

  test("are all dropped, and their connections closed by Nexus", () => {
    expect(run.dropped).toBe(CLIENTS)
    expect(run.subscribersAfter).toBe(0)
    expect(run.closedByNexus).toBe(true)
  })

  test("leave throughput at least half: CPU time per request at most doubles", () => {
    const without = (run.cpuWithout[0]! + run.cpuWithout[1]!) / 2
    expect(run.cpuWith).toBeLessThanOrEqual(2 * without)
  })

  test("keep Nexus's resident memory under 200 MB", () => {
    expect(run.peakWith).toBeLessThan(200 * MB)
  })

  test("give their memory back once they are gone", () => {
    expect(run.rssAfter).toBeLessThanOrEqual(run.rssBefore * RSS_RATIO)
  })
})
