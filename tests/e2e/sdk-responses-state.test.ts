/**
 * The openai SDK's Responses API on servers without one of their own (an older vLLM,
 * Ollama): conversations continued with previous_response_id, responses read back,
 * deleted and counted, and a thinking model's reasoning as reasoning items, streamed
 * before the message.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import OpenAI from "openai"
import { startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"

const REASONING = "First I weigh the options, then I answer."
const REPLY = "The answer is 42."
let nexus: TestNexus
let old: Emulator
let ollama: Emulator
let client: OpenAI

beforeAll(async () => {
  old = await startVllm({ models: ["qwen-old"], chunks: 3, noResponses: true, reasoning: REASONING, reply: REPLY })
  ollama = await startOllama({ models: ["qwen3:8b"], chunks: 3, reasoning: REASONING, reply: REPLY })
  nexus = await startNexus({ backends: [backend("old-vllm", old.url, "vllm"), backend("ollama", ollama.url, "ollama")] })
  client = new OpenAI({ baseURL: `${nexus.url}/v1`, apiKey: "not-needed", maxRetries: 0 })
})

afterAll(async () => {
  await nexus.stop(0)
  await Promise.all([old.stop(), ollama.stop()])
})

const lastMessages = (e: Emulator) => (JSON.parse(e.stats.bodies.at(-1)!) as { messages: { role: string }[] }).messages

describe("openai SDK: stored responses on a server without /v1/responses", () => {
  test("create with store, continue with previous_response_id (streamed), retrieve, count, delete", async () => {
    const first = await client.responses.create({ model: "qwen-old", input: "my name is Ada", store: true })
    expect(first.output_text).toBe(REPLY)
    expect(old.stats.byPath["/v1/responses"]).toBe(1)

    const stream = client.responses.stream({ model: "qwen-old", input: "what is my name?", previous_response_id: first.id, store: true })
    const second = await stream.finalResponse()
    expect(second.output_text).toBe(REPLY)
    expect(lastMessages(old).map((m) => m.role)).toEqual(["user", "assistant", "user"])

    const again = await client.responses.retrieve(second.id)
    expect(again.id).toBe(second.id)
    expect(again.output_text).toBe(REPLY)

    const counted = await client.responses.inputTokens.count({ model: "qwen-old", input: "and now?", previous_response_id: second.id })
    expect(counted.input_tokens).toBeGreaterThan(0)

    await client.responses.delete(second.id)
    const err = await client.responses.retrieve(second.id).catch((e) => e)
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
    const gone = await client.responses.create({ model: "qwen-old", input: "hi", previous_response_id: second.id }).catch((e) => e)
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError)
    expect(gone.param).toBe("previous_response_id")
    // Learned once: the route was asked once, everything else went to chat completions.
    expect(old.stats.byPath["/v1/responses"]).toBe(1)
  })
})

describe("openai SDK: a local model's reasoning as reasoning items", () => {
  for (const model of ["qwen-old", "qwen3:8b"]) {
    test(`raw reasoning text, streamed before the message (${model})`, async () => {
      const stream = client.responses.stream({ model, input: "think", store: false })
      const order: string[] = []
      let reasoning = ""
      for await (const ev of stream) {
        if (ev.type === "response.reasoning_text.delta") reasoning += ev.delta
        if (ev.type === "response.reasoning_text.delta" || ev.type === "response.output_text.delta") if (order.at(-1) !== ev.type) order.push(ev.type)
      }
      expect(reasoning).toBe(REASONING)
      expect(order).toEqual(["response.reasoning_text.delta", "response.output_text.delta"])
      const done = await stream.finalResponse()
      expect(done.output.map((o) => o.type)).toEqual(["reasoning", "message"])
      expect(done.output[0]).toMatchObject({ type: "reasoning", summary: [], content: [{ type: "reasoning_text", text: REASONING }] })
    })

    test(`a summary when the client asks for one (${model})`, async () => {
      const stream = client.responses.stream({ model, input: "think", store: false, reasoning: { effort: "medium", summary: "auto" } })
      let summary = ""
      for await (const ev of stream) if (ev.type === "response.reasoning_summary_text.delta") summary += ev.delta
      expect(summary).toBe(REASONING)
      const done = await stream.finalResponse()
      expect(done.output[0]).toMatchObject({ type: "reasoning", summary: [{ type: "summary_text", text: REASONING }] })
      expect(done.output_text).toBe(REPLY)
    })

    test(`not streamed: the reasoning item comes first (${model})`, async () => {
      const r = await client.responses.create({ model, input: "think", store: false })
      expect(r.output.map((o) => o.type)).toEqual(["reasoning", "message"])
      expect(r.output_text).toBe(REPLY)
    })
  }
})
