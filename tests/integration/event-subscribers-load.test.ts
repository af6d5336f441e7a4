/**
 * A thousand `/v1/events` clients that never read, with Nexus under load: they may cost
 * it neither memory nor throughput, and what they used comes back once they go. Nexus
 * runs as its own process, so its resident memory and CPU time are its own (/proc); the
 * cap on subscribers is raised to 1,000, so the bound on each one's backlog and the shared
 * fan-out protect memory on their own. Throughput is compared as CPU time per request with
 * and without the subscribers, in the same run: no wall-clock thresholds.
 */
import { readdirSync } from "node:fs"
import type { Socket } from "node:net"
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { startVllm } from "../../emulators/index.ts"
import type { Emulator } from "../../emulators/index.ts"
import { MB, rssBytes, sampleRss } from "../../scripts/bench/proc.ts"
import { cpuTimeMicros } from "../helpers/cpu.ts"
import { eventReader, stalledSubscriber } from "../helpers/events.ts"
import { chat } from "../helpers/nexus.ts"
import { spawnNexus, type NexusProcess } from "../helpers/process.ts"
import { until } from "../helpers/wait.ts"

const SUBSCRIBERS = 1000
/** Requests per measured round: enough CPU time for the 10 ms ticks of /proc to resolve. */
const ROUND = 400
/** Pairs of rounds, without and with the subscribers; the median ratio counts. */
const PAIRS = 3
const CONCURRENCY = 16
const MODEL = "m"

/**
 * Gateway CPU time per request over `count` requests, in µs. With a `watcher`, the count
 * stops once the last request's event has reached it: the events of the round have then
 * been sent to every subscriber, and their cost is in the figure.
 */
async function cpuPerRequest(nexus: NexusProcess, count: number, watcher?: { text: string }): Promise<number> {
  // Half of them streamed, as most traffic to a model is.
  const bodies = [JSON.stringify(chat(MODEL)), JSON.stringify(chat(MODEL, { stream: true }))]
  let next = 0
  let last = ""
  const start = cpuTimeMicros(nexus.proc.pid)
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < count) {
        const body = bodies[next % 2]
        const res = await fetch(`${nexus.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body })
        await res.text()
        if (res.status !== 200) throw new Error(`request failed: ${res.status}`)
        last = res.headers.get("x-request-id")!
      }
    })
  )
  if (watcher) {
    await until(() => watcher.text.includes(`"requestId":"${last}"`), Boolean, { what: "the round's events sent" })
    // Served once the write that reached the watcher, and the rest of that fan-out, are done.
    await (await fetch(`${nexus.url}/health`)).text()
  }
  return (cpuTimeMicros(nexus.proc.pid) - start) / count
}

/** Open file descriptors of a process: its sockets among them. */
const openFiles = (pid: number) => readdirSync(`/proc/${pid}/fd`).length

describe(`${SUBSCRIBERS} subscribers that never read, under load`, () => {
  let emulator: Emulator
  let nexus: NexusProcess
  let sockets: Socket[] = []
  let watcher: Awaited<ReturnType<typeof eventReader>> | undefined
  const seen = { ratios: [] as number[], rssBefore: 0, filesBefore: 0, peakWith: 0 }

  async function subscribe() {
    const port = Number(new URL(nexus.url).port)
    // Each has its response headers, so each is subscribed; none reads from here on,
    // but for one, which tells when a round's events have gone out.
    sockets = await Promise.all(Array.from({ length: SUBSCRIBERS - 1 }, () => stalledSubscriber(port)))
    watcher = await eventReader(nexus.url)
  }

  async function unsubscribe() {
    for (const s of sockets) s.destroy()
    watcher?.close()
    await until(() => openFiles(nexus.proc.pid), (n) => n <= seen.filesBefore + 10, { what: "every subscriber's socket closed" })
  }

  beforeAll(async () => {
    emulator = await startVllm({ models: [MODEL] })
    nexus = await spawnNexus(
      `[server]\nmax_event_subscribers = ${SUBSCRIBERS}\n\n[[backends]]\nname = "a"\nurl = "${emulator.url}"\ntype = "vllm"\nmax_concurrent = 1000`,
      { env: { NEXUS_LOG_LEVEL: "warn" } }
    )
    await cpuPerRequest(nexus, ROUND) // warm up: compiled code, pools, caches
    seen.rssBefore = rssBytes(nexus.proc.pid)
    seen.filesBefore = openFiles(nexus.proc.pid)
    // Rounds without and with the subscribers alternate, so both halves of a pair see the
    // same machine (other work on it slows every process alike).
    for (let i = 0; i < PAIRS; i++) {
      const without = await cpuPerRequest(nexus, ROUND)
      await subscribe()
      const sampler = sampleRss(nexus.proc.pid, 50)
      const withThem = await cpuPerRequest(nexus, ROUND, watcher)
      seen.peakWith = Math.max(seen.peakWith, sampler.stop().peak)
      seen.ratios.push(withThem / without)
      if (i < PAIRS - 1) await unsubscribe()
    }
    const shown = seen.ratios.map((r) => r.toFixed(2)).join(", ")
    console.log(`CPU per request with / without: ${shown}; RSS ${Math.round(seen.rssBefore / MB)} MB before, peak ${Math.round(seen.peakWith / MB)} MB with`)
  }, 60_000)

  afterAll(async () => {
    for (const s of sockets) s.destroy()
    watcher?.close()
    await nexus?.stop()
    await emulator?.stop()
  })

  test("cost the request path little: CPU per request at most doubles (throughput at least half)", () => {
    const median = [...seen.ratios].sort((a, b) => a - b)[PAIRS >> 1]!
    expect(median).toBeLessThanOrEqual(2)
  })

  test("leave Nexus's resident memory under 200 MB", () => {
    expect(seen.peakWith).toBeLessThan(200 * MB)
  })

  test("give their memory back once they go", async () => {
    await unsubscribe()
    await until(
      () => rssBytes(nexus.proc.pid),
      (rss) => rss <= seen.rssBefore * 1.2,
      { what: `RSS back within 20% of ${Math.round(seen.rssBefore / MB)} MB`, everyMs: 100 }
    )
  }, 30_000)
})
