/**
 * Streams are sacred: client disconnects abort the upstream and release every
 * counter, and each Bun behaviour that breaks a naive proxy is handled.
 */
import { describe, expect, test } from "bun:test"
import { startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, chat, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { sseData } from "../helpers/sse.ts"
import { eventually } from "../helpers/wait.ts"

const scope = testScope()

async function setup(
  opts: Parameters<typeof startVllm>[0] = {},
  server: NonNullable<Parameters<typeof startNexus>[0]>["server"] = {}
): Promise<{ emu: Emulator; nexus: TestNexus }> {
  const emu = await scope.emulator(startVllm({ models: ["m"], ...opts }))
  const nexus = await scope.nexus({ server, backends: [backend("v", emu.url, "vllm")] })
  return { emu, nexus }
}

async function inFlightGauge(nexus: TestNexus): Promise<string | undefined> {
  const text = await (await nexus.get("/metrics")).text()
  return text.split("\n").find((l) => l.startsWith('nexus_backend_in_flight{backend="v"}'))
}

describe("client disconnect", () => {
  test("mid-stream: the upstream request is aborted and every counter returns to zero", async () => {
    const { emu, nexus } = await setup({ chunks: 50, chunkDelayMs: 50 })
    const ac = new AbortController()
    const res = await fetch(`${nexus.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify(chat("m", { stream: true })),
      signal: ac.signal,
    })
    const reader = res.body!.getReader()
    await reader.read()
    expect(emu.stats.inFlight).toBe(1)
    expect(nexus.inFlight()).toBe(1)
    ac.abort()
    await eventually(() => emu.stats.aborted === 1 && emu.stats.inFlight === 0)
    await eventually(() => nexus.inFlight() === 0)
    expect(emu.stats.completed).toBe(0)
    expect(await inFlightGauge(nexus)).toBe('nexus_backend_in_flight{backend="v"} 0')
  })

  test("while waiting for the backend's headers: aborted at once, counters back to zero", async () => {
    const { emu, nexus } = await setup()
    emu.faults.hangBeforeHeaders = true
    const ac = new AbortController()
    const pending = fetch(`${nexus.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify(chat("m")), signal: ac.signal }).catch((e) => e)
    await eventually(() => emu.stats.inFlight === 1)
    ac.abort()
    await pending
    await eventually(() => emu.stats.aborted === 1 && nexus.inFlight() === 0)
    // The gateway keeps serving afterwards (no crash from the aborted stream).
    emu.faults.hangBeforeHeaders = false
    expect((await nexus.post("/v1/chat/completions", chat("m"))).status).toBe(200)
  })

  test("many disconnects mid-stream leave nothing behind", async () => {
    const { emu, nexus } = await setup({ chunks: 40, chunkDelayMs: 20 })
    await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const ac = new AbortController()
        const res = await fetch(`${nexus.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify(chat("m", { stream: true })), signal: ac.signal })
        const reader = res.body!.getReader()
        for (let k = 0; k <= i % 4; k++) await reader.read()
        ac.abort()
      })
    )
    await eventually(() => emu.stats.inFlight === 0 && nexus.inFlight() === 0)
    expect(emu.stats.aborted).toBe(30)
  })
})

describe("Bun pitfalls", () => {
  test("a gzip-compressed upstream body reaches the client decodable, without a stale content-encoding", async () => {
    const { emu, nexus } = await setup()
    emu.faults.gzip = true
    const res = await nexus.post("/v1/chat/completions", chat("m"))
    expect(res.status).toBe(200)
    expect(res.headers.get("content-encoding")).toBeNull()
    expect(((await res.json()) as { choices: unknown[] }).choices).toHaveLength(1)
    // And a raw client that does not decompress sees plain JSON bytes too.
    const raw = await fetch(`${nexus.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify(chat("m")), decompress: false })
    expect(raw.headers.get("content-encoding")).toBeNull()
    expect(JSON.parse(await raw.text()).object).toBe("chat.completion")
  })

  test("a silence longer than Bun's 10 s idle timeout before the first token does not cut the client", async () => {
    const { nexus } = await setup({ latencyMs: 11_500 })
    const res = await nexus.post("/v1/chat/completions", chat("m"))
    expect(res.status).toBe(200)
    expect(((await res.json()) as { object: string }).object).toBe("chat.completion")
  }, 30_000)

  test("a long silence inside a stream is covered by SSE keep-alive comments, and the stream completes", async () => {
    const { nexus } = await setup({ chunks: 2, chunkDelayMs: 800 }, { sse_heartbeat_seconds: 0.3 })
    const res = await nexus.post("/v1/chat/completions", chat("m", { stream: true }))
    expect(res.status).toBe(200)
    const events = (await res.text()).split("\n\n").filter(Boolean)
    const firstComment = events.indexOf(": keep-alive")
    expect(firstComment).toBeGreaterThan(0) // after the first event, during the gap
    expect(events.at(-1)).toBe("data: [DONE]")
    expect(events.filter((e) => e.startsWith("data: {")).length).toBe(4)
  })

  test("Ollama's OpenAI layer streams through in both of its shapes", async () => {
    for (const legacyStream of [false, true]) {
      const emu = await scope.emulator(startOllama({ models: ["q"], legacyStream, chunks: 3 }))
      const nexus = await scope.nexus({ backends: [backend("o", emu.url, "ollama")] })
      const data = await sseData(await nexus.post("/v1/chat/completions", chat("q", { stream: true })))
      expect(data.at(-1)).toBe("[DONE]")
      expect(data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d).choices[0].finish_reason).filter(Boolean)).toEqual(["stop"])
    }
  })
})

describe("shutdown", () => {
  test("a stream still open when the grace period ends gets an error event and a clean end, not a reset", async () => {
    const emu = await scope.emulator(startVllm({ models: ["m"], chunks: 200, chunkDelayMs: 100 }))
    const nexus = await startNexusForShutdown(emu)
    const res = await fetch(`${nexus.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify(chat("m", { stream: true })) })
    const reader = res.body!.getReader()
    await reader.read()
    const stopped = nexus.stop(300)
    // The reader ends normally (no thrown error): the last events are the error and [DONE].
    let text = ""
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    await stopped
    const events = text.split("\n\n").filter((e) => e.startsWith("data: "))
    expect(events.at(-1)).toBe("data: [DONE]")
    const error = JSON.parse(events.at(-2)!.slice(6))
    expect(error.error).toMatchObject({ code: "server_shutdown" })
    expect(error.error.message).toContain("shutting down")
    await eventually(() => emu.stats.inFlight === 0)
  })
})

/** A gateway of its own (not in the scope): the test stops it. */
async function startNexusForShutdown(emu: Emulator): Promise<TestNexus> {
  return startNexus({ backends: [backend("v", emu.url, "vllm")] })
}
