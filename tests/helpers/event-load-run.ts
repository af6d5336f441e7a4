/**
 * One run of `/v1/events` clients that never read, with Nexus under load, measured from the
 * outside: Nexus in its own process (its CPU time and resident memory from /proc), the
 * emulated backend, the load and the clients in this one. Meant to run in a network
 * namespace of its own whose socket buffers are small (see event-load.ts), so a client
 * that does not read fills them after some KB instead of several MB.
 *   bun tests/helpers/event-load-run.ts <clients> <requests per round> <RSS ratio>
 * where RSS ratio is how far above its level before the clients Nexus's memory may be
 * once they are gone (the run waits up to 5 s for it to get there).
 * Prints one JSON line (EventLoadResult).
 */
import { readdirSync } from "node:fs"
import type { Socket } from "node:net"
import { startVllm } from "../../emulators/index.ts"
import { rssBytes, sampleRss } from "../../scripts/bench/proc.ts"
import { cpuTimeMicros } from "./cpu.ts"
import { metric, stalledSubscriber } from "./events.ts"
import { chat } from "./nexus.ts"
import { spawnNexus, type NexusProcess } from "./process.ts"
import { until } from "./wait.ts"

export interface EventLoadResult {
  /** Nexus's CPU time per request, µs, in the rounds before the clients came and after they went. */
  cpuWithout: number[]
  /** The same from the round run with the clients connected until Nexus had dropped them. */
  cpuWith: number
  /** Clients dropped by Nexus for not reading: by the end of that round, and in all; and
   * those still counted as subscribers after the load. */
  droppedInRound: number
  dropped: number
  subscribersAfter: number
  /** Nexus closed the connections of the dropped clients, which went on not reading. */
  closedByNexus: boolean
  rssBefore: number
  /** The most Nexus's resident memory reached while the clients were there. */
  peakWith: number
  /** Resident memory once the clients were gone: the first sample under the ratio asked
   * for, or the last after 5 s. */
  rssAfter: number
}

const [clientsArg, roundArg, ratioArg] = Bun.argv.slice(2)
const CLIENTS = Number(clientsArg ?? 1000)
const ROUND = Number(roundArg ?? 1000)
const RSS_RATIO = Number(ratioArg ?? 1.5)
const CONCURRENCY = 16
const MODEL = "m"

// Half of the load streamed, as most traffic to a model is.
const bodies = [JSON.stringify(chat(MODEL)), JSON.stringify(chat(MODEL, { stream: true }))]

/** Send `count` requests, CONCURRENCY at a time. */
async function load(nexus: NexusProcess, count: number): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const body = bodies[next++ % 2]
        const res = await fetch(`${nexus.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body })
        await res.text()
        if (res.status !== 200) throw new Error(`request failed: ${res.status}`)
      }
    })
  )
}

/** Nexus's CPU time per request over one round, µs. */
async function round(nexus: NexusProcess): Promise<number> {
  const start = cpuTimeMicros(nexus.proc.pid)
  await load(nexus, ROUND)
  return (cpuTimeMicros(nexus.proc.pid) - start) / ROUND
}

const emulator = await startVllm({ models: [MODEL] })
const nexus = await spawnNexus(
  `[server]\nmax_event_subscribers = ${CLIENTS}\n\n[[backends]]\nname = "a"\nurl = "${emulator.url}"\ntype = "vllm"\nmax_concurrent = 1000`,
  { env: { NEXUS_LOG_LEVEL: "warn" } }
)
const pid = nexus.proc.pid
const port = Number(new URL(nexus.url).port)
const files = () => readdirSync(`/proc/${pid}/fd`).length
const scrape = async (name: string) => metric(await (await fetch(`${nexus.url}/metrics`)).text(), name) ?? Number.NaN
let sockets: Socket[] = []
try {
  await round(nexus) // warm up: compiled code, pools, caches
  const before = await round(nexus)
  const rssBefore = rssBytes(pid)
  const filesBefore = files()
  // Each has had its response headers, so each is subscribed; none reads from here on.
  sockets = await Promise.all(Array.from({ length: CLIENTS }, () => stalledSubscriber(port)))
  const sampler = sampleRss(pid, 50)
  // The round's events go out in batches after it, and the clients are judged then: the
  // load goes on, a few requests at a time, until Nexus has dropped them all (or gives
  // up). All of it counts, the scrapes of /metrics included.
  const start = cpuTimeMicros(pid)
  await load(nexus, ROUND)
  let requests = ROUND
  const droppedInRound = await scrape("nexus_event_subscribers_dropped_total")
  const dropped = await until(
    async () => {
      await load(nexus, CONCURRENCY)
      requests += CONCURRENCY
      return await scrape("nexus_event_subscribers_dropped_total")
    },
    (n) => n >= CLIENTS,
    { timeoutMs: 10_000, everyMs: 50 }
  ).catch(() => scrape("nexus_event_subscribers_dropped_total"))
  const cpuWith = (cpuTimeMicros(pid) - start) / requests
  const subscribersAfter = await scrape("nexus_event_subscribers")
  // Dropped, the clients still hold their connections and read nothing: Nexus closes them.
  const closedByNexus = await until(files, (n) => n <= filesBefore + 10, { timeoutMs: 15_000, everyMs: 100 }).then(
    () => true,
    () => false
  )
  const peakWith = sampler.stop().peak
  for (const s of sockets) s.destroy()
  await until(files, (n) => n <= filesBefore + 10, { what: "every client's socket closed" })
  const after = await round(nexus)
  const rssAfter = await until(
    () => rssBytes(pid),
    (rss) => rss <= rssBefore * RSS_RATIO,
    { timeoutMs: 5000, everyMs: 100 }
  ).catch(() => rssBytes(pid))
  const result: EventLoadResult = { cpuWithout: [before, after], cpuWith, droppedInRound, dropped, subscribersAfter, closedByNexus, rssBefore, peakWith, rssAfter }
  console.log(JSON.stringify(result))
} finally {
  for (const s of sockets) s.destroy()
  await nexus.stop()
  await emulator.stop()
}
process.exit(0)
