/**
 * One run of `/v1/events` clients that never read, with Nexus under load, measured from the
 * outside: Nexus in its own process (its CPU time and resident memory from /proc), the
 * emulated backend, the load and the clients in this one. Meant to run in a network
 * namespace of its own whose socket buffers are small (see event-load.ts), so a client
 * that does not read fills them after some KB instead of several MB.
 *   bun tests/helpers/event-load-run.ts <clients> <requests per round>
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
  /** The same in the round run while the clients were connected. */
  cpuWith: number
  /** Clients dropped by Nexus for not reading, and still counted as subscribers after the load. */
  dropped: number
  subscribersAfter: number
  rssBefore: number
  /** The most Nexus's resident memory reached while the clients were there. */
  peakWith: number
  /** Resident memory once the clients were gone. */
  rssAfter: number
}

const [clientsArg, roundArg] = Bun.argv.slice(2)
const CLIENTS = Number(clientsArg ?? 1000)
const ROUND = Number(roundArg ?? 1000)
const CONCURRENCY = 16
const MODEL = "m"

// Half of the load streamed, as most traffic to a model is.
const bodies = [JSON.stringify(chat(MODEL)), JSON.stringify(chat(MODEL, { stream: true }))]

/** Nexus's CPU time per request over one round, µs. */
async function round(nexus: NexusProcess): Promise<number> {
  let next = 0
  const start = cpuTimeMicros(nexus.proc.pid)
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ROUND) {
        const body = bodies[next++ % 2]
        const res = await fetch(`${nexus.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body })
        await res.text()
        if (res.status !== 200) throw new Error(`request failed: ${res.status}`)
      }
    })
  )
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
  const cpuWith = await round(nexus)
  // The load goes on (a request at a time, so the next batches come) until Nexus has
  // judged every client, or it gives up.
  const dropped = await until(
    async () => {
      await (await fetch(`${nexus.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: bodies[0] })).text()
      return await scrape("nexus_event_subscribers_dropped_total")
    },
    (n) => n >= CLIENTS,
    { timeoutMs: 10_000 }
  ).catch(() => scrape("nexus_event_subscribers_dropped_total"))
  const subscribersAfter = await scrape("nexus_event_subscribers")
  const peakWith = sampler.stop().peak
  for (const s of sockets) s.destroy()
  await until(files, (n) => n <= filesBefore + 10, { what: "every client's socket closed" })
  const after = await round(nexus)
  console.error("EXTRA", await round(nexus), await round(nexus), await round(nexus))
  const rssAfter = await until(
    () => rssBytes(pid),
    (rss) => rss <= rssBefore * 1.2,
    { timeoutMs: 5000, everyMs: 100 }
  ).catch(() => rssBytes(pid))
  const result: EventLoadResult = { cpuWithout: [before, after], cpuWith, dropped, subscribersAfter, rssBefore, peakWith, rssAfter }
  console.log(JSON.stringify(result))
} finally {
  for (const s of sockets) s.destroy()
  await nexus.stop()
  await emulator.stop()
}
process.exit(0)
