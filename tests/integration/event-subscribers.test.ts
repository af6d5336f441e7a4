/**
 * `/v1/events` with many clients and with clients that stop reading: a cap on how many
 * connect at once (a 503 in the OpenAI shape past it), and a bound in bytes on how far one
 * may fall behind before it is dropped, told why, while the others miss nothing.
 */
import { describe, expect, test } from "bun:test"
import { eventReader as reader, metric, stalledSubscriber } from "../helpers/events.ts"
import { backend, chat } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually, until } from "../helpers/wait.ts"

const scope = testScope()

describe("how many subscribers", () => {
  test("the 65th at once gets a 503 naming server.max_event_subscribers; a place freed is taken again", async () => {
    const n = await scope.nexus()
    const subs = await Promise.all(Array.from({ length: 64 }, () => reader(n.url)))
    try {
      expect(subs.map((s) => s.res.status)).toEqual(Array(64).fill(200))
      const res = await n.get("/v1/events")
      expect(res.status).toBe(503)
      expect(res.headers.get("content-type")).toStartWith("application/json")
      const body = (await res.json()) as { error: { message: string; type: string; code: string } }
      expect(body.error.message).toContain("server.max_event_subscribers")
      expect(body.error.code).toBe("too_many_event_subscribers")
      expect(typeof body.error.type).toBe("string")
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0)

      subs.pop()!.close()
      const again = await until(
        async () => {
          const r = await fetch(`${n.url}/v1/events`)
          if (r.status !== 200) await r.text()
          return r
        },
        (r) => r.status === 200,
        { what: "a place for a new subscriber" }
      )
      await again.body!.cancel()
    } finally {
      for (const s of subs) s.close()
    }
    await eventually(async () => metric(await (await n.get("/metrics")).text(), "nexus_event_subscribers") === 0, 10_000, "every subscriber gone")
  })

  test("the limit comes from [server] max_event_subscribers", async () => {
    const n = await scope.nexus({ server: { max_event_subscribers: 2 } })
    const subs = await Promise.all([reader(n.url), reader(n.url)])
    const res = await n.get("/v1/events")
    expect(res.status).toBe(503)
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("2 event subscribers")
    for (const s of subs) s.close()
  })
})

describe("what subscribers get", () => {
  test("a probe alone (coalesced per batch) reaches them, as the backend's state", async () => {
    const n = await scope.nexus({ backends: [backend("b", "http://127.0.0.1:9", "vllm")] })
    const live = await reader(n.url)
    await until(() => live.text, (t) => t.includes(": connected"), { what: "the greeting" })
    n.deps.registry.recordProbe("b", Date.now(), 123.4)
    await until(() => live.text, (t) => t.includes('"probeMs":123.4'), { what: "the probe in a backend event" })
    expect(live.text).toMatch(/event: backend\ndata: \{"id":"b"/)
    live.close()
  })
})

describe("a subscriber that stops reading", () => {
  test("is dropped once 256 KiB behind, and told why; a reading one misses nothing", async () => {
    const n = await scope.nexus()
    const stalled = await stalledSubscriber(n.port)
    const live = await reader(n.url)
    const metrics = async () => await (await n.get("/metrics")).text()
    // Large events (the asked model is in each record), so the socket buffers of the
    // kernel, several MB, fill after a few dozen of them.
    const ids: string[] = []
    await until(
      async () => {
        const res = await n.post("/v1/chat/completions", chat(`unknown-${"x".repeat(100_000)}`))
        await res.text()
        ids.push(res.headers.get("x-request-id")!)
        return metric(await metrics(), "nexus_event_subscribers_dropped_total")
      },
      (dropped) => dropped === 1,
      { what: "the stalled subscriber dropped", timeoutMs: 20_000, everyMs: 0 }
    )
    expect(metric(await metrics(), "nexus_event_subscribers")).toBe(1)
    await eventually(() => ids.every((id) => live.text.includes(`"requestId":"${id}"`)), 10_000, "every event at the reading subscriber")
    expect(live.ended).toBe(false)

    // What the stalled one had not read is still there, then why it ended, then the end.
    let text = ""
    stalled.on("data", (d: Buffer) => (text += d.toString("latin1")))
    stalled.resume()
    await eventually(() => text.endsWith("\r\n0\r\n\r\n"), 10_000, "the end of the dropped stream")
    expect(text).toContain(": dropped: more than 262144 bytes of events unread; reconnect to resume")
    stalled.destroy()
    live.close()
  }, 30_000)
})
