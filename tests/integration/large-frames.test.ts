/**
 * One large event (a base64 image, big tool arguments) is relayed as soon as it is whole,
 * in every dialect; past `server.max_frame_bytes` the answer ends with the dialect's own
 * error; a line that never ends is an error, not an empty answer; and a stream still
 * running at the request deadline is ended. Every in-flight count returns to 0.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import fc from "fast-check"
import { startOpenai, type Emulator } from "../../emulators/index.ts"
import { backend, chat, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { eventually } from "../helpers/wait.ts"

const MAX_FRAME = 1 << 20
let emu: Emulator
let nexus: TestNexus

beforeAll(async () => {
  emu = await startOpenai({ models: ["m"], chunks: 3 })
  nexus = await startNexus({
    backends: [backend("cloud", emu.url, "generic", { max_concurrent: 8 })],
    // No heartbeat comes to push a held event along: only a relay that reads on does.
    server: { sse_heartbeat_seconds: 3600, max_frame_bytes: MAX_FRAME },
  })
})

afterAll(async () => {
  await nexus.stop(0)
  await emu.stop()
})

async function settled(): Promise<void> {
  await eventually(() => nexus.inFlight() === 0 && emu.stats.inFlight === 0, 10_000, "in-flight counts back at 0")
}

const STREAMS: Record<string, (size: number) => unknown> = {
  "/v1/chat/completions": () => chat("m", { stream: true }),
  "/v1/messages": () => ({ ...chat("m", { stream: true }), max_tokens: 16 }),
  "/v1/responses": () => ({ model: "m", stream: true, input: "hi" }),
  "/api/chat": () => chat("m", { stream: true }),
}

test("an event of any size up to the bound arrives whole, in every dialect", async () => {
  try {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(STREAMS)), fc.oneof(fc.integer({ min: 1, max: 64 * 1024 }), fc.integer({ min: 64 * 1024, max: MAX_FRAME - 4096 })), async (path, size) => {
        emu.faults.hugeFrameBytes = size
        const res = await nexus.post(path, STREAMS[path]!(size))
        const text = await res.text()
        expect(res.status).toBe(200)
        expect(text.includes("A".repeat(size))).toBe(true)
        expect(text).not.toContain("frame_too_large")
        await settled()
      }),
      { numRuns: 200 }
    )
  } finally {
    emu.faults.hugeFrameBytes = undefined
  }
}, 120_000)

test("an event past server.max_frame_bytes ends the stream with the dialect's error", async () => {
  emu.faults.hugeFrameBytes = MAX_FRAME * 3
  try {
    const openai = await (await nexus.post("/v1/chat/completions", chat("m", { stream: true }))).text()
    const events = openai.split("\n\n").filter(Boolean)
    expect(JSON.parse(events.at(-2)!.slice(6)).error.code).toBe("frame_too_large")
    expect(events.at(-1)).toBe("data: [DONE]")
    await settled()
    const anthropic = await (await nexus.post("/v1/messages", { ...chat("m", { stream: true }), max_tokens: 16 })).text()
    expect(anthropic).toContain("event: error")
    expect(anthropic).toContain("server.max_frame_bytes")
    await settled()
    const ollama = (await (await nexus.post("/api/chat", chat("m"))).text()).trim().split("\n")
    expect(JSON.parse(ollama.at(-1)!).error).toContain("server.max_frame_bytes")
    await settled()
  } finally {
    emu.faults.hugeFrameBytes = undefined
  }
}, 60_000)

test("a line that never ends: a JSON client gets a 502 in its own shape, a stream an error event", async () => {
  emu.faults.alwaysStream = true
  try {
    for (const size of [200 * 1024, MAX_FRAME * 2]) {
      emu.faults.unterminatedBytes = size
      const res = await nexus.post("/v1/chat/completions", chat("m"))
      const doc = (await res.json()) as { error: { type: string } }
      expect(res.status).toBe(502)
      expect(doc.error.type).toBe("server_error")
      await settled()
      const stream = await (await nexus.post("/v1/chat/completions", chat("m", { stream: true }))).text()
      const events = stream.split("\n\n").filter(Boolean)
      expect(JSON.parse(events.at(-2)!.slice(6)).error.message).toMatch(/middle of an event|max_frame_bytes/)
      expect(events.at(-1)).toBe("data: [DONE]")
      await settled()
    }
  } finally {
    emu.faults.alwaysStream = undefined
    emu.faults.unterminatedBytes = undefined
  }
}, 60_000)

test("a stream still running at the request deadline ends with an error, and frees its backend", async () => {
  const short = await startNexus({ backends: [backend("cloud", emu.url, "generic")], server: { request_timeout_seconds: 1, sse_heartbeat_seconds: 0.2 } })
  emu.faults.hangAfterChunks = 1
  try {
    const text = await (await short.post("/v1/chat/completions", chat("m", { stream: true }))).text()
    const events = text.split("\n\n").filter((e) => e.startsWith("data:"))
    expect(JSON.parse(events.at(-2)!.slice(6)).error.code).toBe("upstream_timeout")
    expect(events.at(-1)).toBe("data: [DONE]")
    await eventually(() => short.inFlight() === 0 && emu.stats.inFlight === 0, 10_000, "in-flight counts back at 0")
  } finally {
    emu.faults.hangAfterChunks = undefined
    await short.stop(0)
  }
}, 30_000)
