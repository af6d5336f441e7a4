/**
 * Streams across dialects: a server that ignores `stream` is converted for every client,
 * a failure after the first byte ends each dialect's stream with its own error, and the
 * emulators stream legacy completions as real servers do.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import OpenAI from "openai"
import { startOpenai, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"

const REPLY = "Hello! I am an emulated model, answering through Nexus."
let nexus: TestNexus
let vllm: Emulator
let cloud: Emulator
let client: OpenAI

beforeAll(async () => {
  vllm = await startVllm({ models: ["qwen-coder"], chunks: 5 })
  cloud = await startOpenai({ models: ["gpt-4o-mini"], chunks: 5, apiKey: "sk-test" })
  nexus = await startNexus(
    { backends: [backend("vllm", vllm.url, "vllm", { max_concurrent: 100 }), backend("cloud", cloud.url, "openai", { api_key_env: "TEST_OPENAI_KEY" })] },
    { env: { TEST_OPENAI_KEY: "sk-test" } }
  )
  client = new OpenAI({ baseURL: `${nexus.url}/v1`, apiKey: "x", maxRetries: 0 })
})

afterAll(async () => {
  await nexus.stop(0)
  await Promise.all([vllm.stop(), cloud.stop()])
})

describe("a server that ignores stream", () => {
  test("an OpenAI client asking for a stream gets one, not an empty stream", async () => {
    vllm.faults.ignoreStream = true
    try {
      const stream = await client.chat.completions.create({ model: "qwen-coder", stream: true, messages: [{ role: "user", content: "hi" }] })
      let text = ""
      let finish
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? ""
        finish ??= chunk.choices[0]?.finish_reason
      }
      expect(text).toBe(REPLY)
      expect(finish).toBe("stop")
      // Anthropic and Ollama clients get their own stream from the same JSON answer.
      const a = await nexus.post("/v1/messages", { model: "qwen-coder", max_tokens: 10, stream: true, messages: [{ role: "user", content: "hi" }] })
      const events = (await a.text()).split("\n").filter((l) => l.startsWith("event: ")).map((l) => l.slice(7))
      expect(events[0]).toBe("message_start")
      expect(events).toContain("content_block_delta")
      expect(events.at(-1)).toBe("message_stop")
      const o = await nexus.post("/api/chat", { model: "qwen-coder", messages: [{ role: "user", content: "hi" }] })
      const lines = (await o.text()).trim().split("\n").map((l) => JSON.parse(l))
      expect(lines.at(-1).done).toBe(true)
      expect(lines.map((l) => l.message.content).join("")).toBe(REPLY)
    } finally {
      vllm.faults.ignoreStream = false
    }
  })
})

describe("a failure after the first byte", () => {
  test("each dialect ends its stream with its own error, and every slot is released", async () => {
    vllm.faults.midStreamError = 2
    try {
      const a = await nexus.post("/v1/messages", { model: "qwen-coder", max_tokens: 10, stream: true, messages: [{ role: "user", content: "hi" }] })
      const text = await a.text()
      expect(text).toContain("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"")
      expect(text).not.toContain("message_stop")
      const o = await nexus.post("/api/chat", { model: "qwen-coder", messages: [{ role: "user", content: "hi" }] })
      const last = JSON.parse((await o.text()).trim().split("\n").at(-1)!)
      expect(typeof last.error).toBe("string")
      const r = await nexus.post("/v1/responses", { model: "qwen-coder", stream: true, input: "hi" }, {})
      // vLLM serves /v1/responses itself: its own bytes come back, so only the chat dialects are checked here.
      expect(r.status).toBe(200)
      await r.text()
    } finally {
      vllm.faults.midStreamError = undefined
    }
    expect(nexus.inFlight()).toBe(0)
  })
})

describe("legacy completions stream", () => {
  test("vLLM and OpenAI stream /v1/completions", async () => {
    for (const model of ["qwen-coder", "gpt-4o-mini"]) {
      const stream = await client.completions.create({ model, prompt: "def f(", stream: true })
      let text = ""
      let n = 0
      for await (const chunk of stream) {
        text += chunk.choices[0]?.text ?? ""
        n++
      }
      expect(n).toBeGreaterThan(1)
      expect(text).toBe(REPLY)
    }
  })
})

describe("a long wait mid-stream", () => {
  test("keep-alives reach Anthropic clients as ping events (Claude Code's idle timer)", async () => {
    const slow = await startVllm({ models: ["slow"], chunks: 2, chunkDelayMs: 700 })
    const gw = await startNexus({ server: { sse_heartbeat_seconds: 0.3 }, backends: [backend("slow", slow.url, "vllm")] })
    try {
      const a = await (await gw.post("/v1/messages", { model: "slow", max_tokens: 10, stream: true, messages: [{ role: "user", content: "hi" }] })).text()
      expect(a.split("\n").filter((l) => l === "event: ping").length).toBeGreaterThan(1)
      expect(a.trimEnd().endsWith('data: {"type":"message_stop"}')).toBe(true)
    } finally {
      await gw.stop(0)
      await slow.stop()
    }
  }, 20_000)
})

describe("a whole translated answer", () => {
  test("goes out at once with its length and the gateway's headers, in every dialect", async () => {
    const asks = [
      { path: "/v1/messages", body: { model: "qwen-coder", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }, text: (d: any) => d.content[0].text },
      { path: "/api/chat", body: { model: "qwen-coder", stream: false, messages: [{ role: "user", content: "hi" }] }, text: (d: any) => d.message.content },
      { path: "/v1/responses", body: { model: "qwen-coder", store: false, input: "hi" }, text: (d: any) => d.output[0].content[0].text },
    ]
    for (const ask of asks) {
      const res = await nexus.post(ask.path, ask.body)
      const bytes = new Uint8Array(await res.arrayBuffer())
      expect([ask.path, res.status]).toEqual([ask.path, 200])
      expect([ask.path, res.headers.get("content-length")]).toEqual([ask.path, String(bytes.byteLength)])
      expect(res.headers.get("x-nexus-backend")).toBe("vllm")
      expect(res.headers.get("x-request-id")).toBeTruthy()
      expect(ask.text(JSON.parse(new TextDecoder().decode(bytes)))).toBe(REPLY)
    }
  })
})
