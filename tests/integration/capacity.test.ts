/**
 * Capacity as the backend itself sees it. Nexus's own counters say what it meant to do;
 * the emulator counts what really reached it (stats.peakInFlight: the most requests it
 * worked on at once), so a limit that is checked and then acted on too late shows up here.
 */
import { describe, expect, test } from "bun:test"
import { startVllm } from "../../emulators/index.ts"
import { backend, chat } from "../helpers/nexus.ts"
import { spawnNexus } from "../helpers/process.ts"
import { testScope } from "../helpers/scope.ts"
import { readEvents } from "../helpers/sse.ts"
import { until } from "../helpers/wait.ts"

const MODEL = "m"
const scope = testScope()

const chatRequests = (e: { stats: { byPath: Record<string, number> } }) => e.stats.byPath["/v1/chat/completions"] ?? 0

describe("max_concurrent", () => {
  test("= 1: 3, then 20 requests sent at once all succeed, and the backend never works on two at once", async () => {
    const a = await scope.emulator(startVllm({ models: [MODEL], latencyMs: 300 }))
    const n = await scope.nexus({ backends: [backend("a", a.url, "vllm", { max_concurrent: 1 })] })
    for (const count of [3, 20]) {
      a.resetPeak()
      const statuses = await Promise.all(
        Array.from({ length: count }, async () => {
          const res = await n.post("/v1/chat/completions", chat(MODEL))
          await res.text()
          return res.status
        })
      )
      expect(statuses).toEqual(Array(count).fill(200))
      expect(a.stats.peakInFlight).toBe(1)
    }
  }, 20_000)
})

describe("a burst over two backends", () => {
  test("200 streams at once spread over priorities 10 and 20 the way the scores say, none failing", async () => {
    // Each stream waits 1.5 s for its first token, so all 200 are in flight together
    // whatever the dispatch speed, and no time-to-first-token sample skews the scores.
    const [a, b] = await Promise.all([1, 2].map(() => scope.emulator(startVllm({ models: [MODEL], latencyMs: 1500, chunks: 3 }))))
    // Nexus in its own process: Bun caps outgoing requests per process (256), and 200
    // client streams plus 200 upstream ones would not fit in this one.
    const nexus = await spawnNexus(
      [`[[backends]]\nname = "a"\nurl = "${a!.url}"\ntype = "vllm"\npriority = 10\nmax_concurrent = 200`, `[[backends]]\nname = "b"\nurl = "${b!.url}"\ntype = "vllm"\npriority = 20\nmax_concurrent = 200`].join("\n"),
      { env: { NEXUS_LOG_LEVEL: "warn" } }
    )
    scope.defer(() => nexus.stop())
    const statuses = async () => ((await (await fetch(`${nexus.url}/v1/backends`)).json()) as { backends: { status: string }[] }).backends.map((x) => x.status)
    await until(statuses, (list) => list.join() === "healthy,healthy", { what: "both backends healthy" })
    const streams = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const res = await fetch(`${nexus.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(chat(MODEL, { stream: true })) })
        return { status: res.status, ...(await readEvents(res)) }
      })
    )
    expect(streams.map((s) => s.status)).toEqual(Array(200).fill(200))
    expect(streams.every((s) => s.done === 1)).toBe(true)
    // The smart score (src/routing/score.ts, default weights) gives priority 10 a lead of
    // 0.1 x 50 = 5 points; load costs 30 x in_flight / max_concurrent. They balance when
    // a has about max_concurrent / 6 = 33 more in flight than b: about 117 to 83 of 200.
    // Priority decides who gets more, load that both get a fair part.
    const [toA, toB] = [chatRequests(a!), chatRequests(b!)]
    expect(toA + toB).toBe(200)
    expect(toA).toBeGreaterThan(toB)
    expect(toB).toBeGreaterThanOrEqual(50)
  }, 30_000)
})
