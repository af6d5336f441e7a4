/**
 * The official `@anthropic-ai/sdk` against Nexus, as Claude Code and Anthropic SDK users
 * call it, in front of an OpenAI-compatible backend (vLLM) and an Ollama backend.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import Anthropic from "@anthropic-ai/sdk"
import { startLlamacpp, startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"

const REPLY = "Hello! I am an emulated model, answering through Nexus."
let nexus: TestNexus
let ollama: Emulator
let vllm: Emulator
let llama: Emulator
let client: Anthropic

beforeAll(async () => {
  ollama = await startOllama({ models: ["llama3.2:latest"], chunks: 5 })
  vllm = await startVllm({ models: ["qwen-coder"], chunks: 5, toolCalls: [{ name: "get_weather", arguments: { city: "Tokyo", unit: "c" } }] })
  llama = await startLlamacpp({ models: ["gemma"], chunks: 5 })
  nexus = await startNexus({
    routing: { aliases: { "claude-sonnet-4-5": "qwen-coder", "claude-haiku-4-5": "llama3.2" } },
    backends: [backend("ollama", ollama.url, "ollama"), backend("vllm", vllm.url, "vllm"), backend("llama", llama.url, "llamacpp")],
  })
  client = new Anthropic({ baseURL: nexus.url, apiKey: "not-needed", maxRetries: 0 })
})

afterAll(async () => {
  await nexus.stop(0)
  await Promise.all([ollama.stop(), vllm.stop(), llama.stop()])
})

const weatherTool = {
  name: "get_weather",
  description: "Weather in a city",
  input_schema: { type: "object" as const, properties: { city: { type: "string" } }, required: ["city"] },
}

describe("@anthropic-ai/sdk", () => {
  for (const model of ["claude-sonnet-4-5", "claude-haiku-4-5"]) {
    test(`messages.create (${model})`, async () => {
      const { data, response } = await client.messages
        .create({ model, max_tokens: 4096, system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }], messages: [{ role: "user", content: "hi" }] })
        .withResponse()
      expect(data.type).toBe("message")
      expect(data.content as unknown[]).toEqual([{ type: "text", text: REPLY }])
      expect(data.stop_reason).toBe("end_turn")
      expect(data.usage.input_tokens).toBeGreaterThan(0)
      expect(data.usage.output_tokens).toBeGreaterThan(0)
      expect(response.headers.get("x-nexus-backend")).toBe(model === "claude-haiku-4-5" ? "ollama" : "vllm")
    })

    test(`messages.stream text deltas (${model})`, async () => {
      const stream = client.messages.stream({ model, max_tokens: 100, messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] })
      const deltas: string[] = []
      const types: string[] = []
      stream.on("text", (t) => deltas.push(t))
      stream.on("streamEvent", (e) => types.push(e.type))
      const final = await stream.finalMessage()
      expect(deltas.length).toBeGreaterThan(1)
      expect(deltas.join("")).toBe(REPLY)
      expect(final.stop_reason).toBe("end_turn")
      expect(final.usage.output_tokens).toBeGreaterThan(0)
      expect(types[0]).toBe("message_start")
      expect(types[1]).toBe("content_block_start")
      expect(types.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"])
    })
  }

  test("tool use round trip, streamed and not", async () => {
    const first = await client.messages.create({
      model: "claude-sonnet-4-5",
      max_tokens: 200,
      tools: [weatherTool],
      tool_choice: { type: "auto" },
      messages: [{ role: "user", content: "Weather in Tokyo?" }],
    })
    expect(first.stop_reason).toBe("tool_use")
    const use = first.content.find((b) => b.type === "tool_use")!
    expect(use).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "Tokyo", unit: "c" } })

    const stream = client.messages.stream({ model: "claude-sonnet-4-5", max_tokens: 200, tools: [weatherTool], messages: [{ role: "user", content: "Weather in Tokyo?" }] })
    const fragments: string[] = []
    stream.on("inputJson", (partial) => fragments.push(partial))
    const streamed = await stream.finalMessage()
    expect(fragments.length).toBeGreaterThan(1)
    expect(streamed.stop_reason).toBe("tool_use")
    expect(streamed.content[0]).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "Tokyo", unit: "c" } })

    // The result goes back; without tools offered the model talks.
    const second = await client.messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 200,
      messages: [
        { role: "user", content: "Weather in Tokyo?" },
        { role: "assistant", content: [{ type: "text", text: "Let me look." }, use] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: (use as { id: string }).id, content: [{ type: "text", text: "21 C" }] }, { type: "text", text: "thanks" }] },
      ],
    })
    expect(second.content as unknown[]).toEqual([{ type: "text", text: REPLY }])
  })

  test("count_tokens: exact from llama.cpp's and vLLM's template and tokenizer, else an estimate", async () => {
    const params = { messages: [{ role: "user" as const, content: "How many tokens is this?" }] }
    const exact = await client.messages.countTokens({ model: "gemma", ...params }).withResponse()
    expect(exact.response.headers.get("x-nexus-token-count")).toBe("exact:llama")
    // "<|im_start|>user\nHow many tokens is this?<|im_end|>\n<|im_start|>assistant\n" is 76 characters.
    expect(exact.data.input_tokens).toBe(19)
    expect(llama.stats.byPath["/tokenize"]).toBe(1)
    const counted = await client.messages.countTokens({ model: "claude-sonnet-4-5", ...params }).withResponse()
    expect(counted.response.headers.get("x-nexus-token-count")).toBe("exact:vllm")
    expect(vllm.stats.byPath["/tokenize"]).toBe(1)
    // Ollama has no tokenizer route: the estimate.
    const estimate = await client.messages.countTokens({ model: "llama3.2:latest", ...params }).withResponse()
    expect(estimate.response.headers.get("x-nexus-token-count")).toBe("estimate")
    expect(estimate.data.input_tokens).toBeGreaterThan(0)
  })

  test("errors raise the SDK's classes with Anthropic's envelope", async () => {
    const err = await client.messages.create({ model: "no-such-model", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }).catch((e) => e)
    expect(err).toBeInstanceOf(Anthropic.NotFoundError)
    expect(err.error).toMatchObject({ type: "error", error: { type: "not_found_error" } })
    const bad = await client.messages.create({ model: "qwen-coder", messages: [{ role: "user", content: "hi" }] } as never).catch((e) => e)
    expect(bad).toBeInstanceOf(Anthropic.BadRequestError)
    expect(bad.error.error.type).toBe("invalid_request_error")
  })

  test("models.list in Anthropic's shape", async () => {
    const page = await client.models.list()
    const ids = page.data.map((m) => m.id)
    expect(ids).toContain("qwen-coder")
    expect(page.data[0]!.type).toBe("model")
  })

  test("the raw event sequence, ping included", async () => {
    const res = await nexus.post("/v1/messages", { model: "qwen-coder", max_tokens: 10, stream: true, messages: [{ role: "user", content: "hi" }] })
    const names = (await res.text()).split("\n").filter((l) => l.startsWith("event: ")).map((l) => l.slice(7))
    expect(names.slice(0, 4)).toEqual(["message_start", "content_block_start", "ping", "content_block_delta"])
    expect(names.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"])
  })

  test("?beta=true, as Claude Code calls it", async () => {
    const res = await nexus.post("/v1/messages?beta=true", { model: "qwen-coder", max_tokens: 10, thinking: { type: "adaptive" }, messages: [{ role: "user", content: "hi" }] }, { "anthropic-version": "2023-06-01", "anthropic-beta": "claude-code-20250219" })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { content: unknown[] }).content.length).toBe(1)
  })
})

describe("@anthropic-ai/sdk with a thinking model and system turns", () => {
  const THOUGHT = "Weighing it up before answering."
  test("messages.stream: thinking then text, system turn in the conversation, usage from the first event", async () => {
    const thinker = await startVllm({ models: ["qwen3-thinker"], chunks: 3, reasoning: THOUGHT, strictTemplate: true })
    const n = await startNexus({ backends: [backend("thinker", thinker.url, "vllm")] })
    try {
      const sdk = new Anthropic({ baseURL: n.url, apiKey: "not-needed", maxRetries: 0 })
      const stream = sdk.messages.stream({
        model: "qwen3-thinker",
        max_tokens: 2048,
        thinking: { type: "enabled", budget_tokens: 1024 },
        messages: [
          { role: "user", content: "hi" },
          { role: "system", content: "Answer in one line." } as never,
        ],
      })
      const thinking: string[] = []
      let startUsage = 0
      stream.on("thinking", (delta) => thinking.push(delta))
      stream.on("streamEvent", (e) => {
        if (e.type === "message_start") startUsage = e.message.usage.input_tokens
      })
      const final = await stream.finalMessage()
      expect(thinking.join("")).toBe(THOUGHT)
      expect(final.content.map((b) => b.type)).toEqual(["thinking", "text"])
      expect(startUsage).toBeGreaterThan(0)
      expect(final.usage.input_tokens).toBeGreaterThan(0)
    } finally {
      await n.stop(0)
      await thinker.stop()
    }
  })
})
