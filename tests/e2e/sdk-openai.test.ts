/**
 * The official `openai` npm SDK against Nexus, as applications use it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import OpenAI from "openai"
import { startLlamacpp, startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"

let nexus: TestNexus
let ollama: Emulator
let vllm: Emulator
let llama: Emulator
let client: OpenAI

beforeAll(async () => {
  ollama = await startOllama({ models: ["llama3.2:latest"], chunks: 5 })
  vllm = await startVllm({ models: ["meta-llama/Llama-3.1-8B-Instruct"], chunks: 5, chunkDelayMs: 5 })
  llama = await startLlamacpp({ models: ["gemma"], chunks: 5 })
  nexus = await startNexus({
    routing: { aliases: { "gpt-4o-mini": "llama3.2:latest" } },
    backends: [
      backend("ollama", ollama.url, "ollama"),
      backend("vllm", vllm.url, "vllm"),
      backend("llama", llama.url, "llamacpp"),
    ],
  })
  client = new OpenAI({ baseURL: `${nexus.url}/v1`, apiKey: "not-needed", maxRetries: 0 })
})

afterAll(async () => {
  await nexus.stop(0)
  await Promise.all([ollama.stop(), vllm.stop(), llama.stop()])
})

describe("openai SDK", () => {
  test("non-streaming completion through an alias", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
      .withResponse()
    expect(data.choices[0]!.message.content).toBe("Hello! I am an emulated model, answering through Nexus.")
    expect(data.usage?.total_tokens).toBeGreaterThan(0)
    expect(response.headers.get("x-nexus-backend")).toBe("ollama")
    expect(response.headers.get("x-nexus-model")).toBe("llama3.2:latest")
  })

  test("streaming completion: every delta arrives, one finish_reason", async () => {
    for (const model of ["meta-llama/Llama-3.1-8B-Instruct", "llama3.2:latest", "gemma"]) {
      const stream = await client.chat.completions.create({
        model,
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: "hi" }],
      })
      let text = ""
      const finishes: string[] = []
      let usage = 0
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? ""
        const f = chunk.choices[0]?.finish_reason
        if (f) finishes.push(f)
        if (chunk.usage) usage = chunk.usage.total_tokens
      }
      expect(text).toBe("Hello! I am an emulated model, answering through Nexus.")
      expect(finishes).toEqual(["stop"])
      expect(usage).toBeGreaterThan(0)
    }
  })

  test("tool calls: the arguments streamed in pieces add up to the call, as in the plain answer", async () => {
    vllm.state.toolCalls = [{ name: "get_weather", arguments: { city: "Tokyo", unit: "celsius" } }]
    try {
      const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }]
      const ask = { model: "meta-llama/Llama-3.1-8B-Instruct", tools, messages: [{ role: "user" as const, content: "weather in Tokyo?" }] }
      const plain = await client.chat.completions.create(ask)
      expect(plain.choices[0]!.finish_reason).toBe("tool_calls")
      const call = plain.choices[0]!.message.tool_calls![0]! as { function: { name: string; arguments: string } }
      expect(call.function.name).toBe("get_weather")
      expect(JSON.parse(call.function.arguments)).toEqual({ city: "Tokyo", unit: "celsius" })

      const pieces: string[] = []
      const finishes: string[] = []
      for await (const chunk of await client.chat.completions.create({ ...ask, stream: true })) {
        for (const t of chunk.choices[0]?.delta?.tool_calls ?? []) if (t.function?.arguments) pieces.push(t.function.arguments)
        const f = chunk.choices[0]?.finish_reason
        if (f) finishes.push(f)
      }
      expect(pieces.length).toBeGreaterThan(1)
      expect(JSON.parse(pieces.join(""))).toEqual({ city: "Tokyo", unit: "celsius" })
      expect(finishes).toEqual(["tool_calls"])
    } finally {
      vllm.state.toolCalls = []
    }
  })

  test("models.list and models.retrieve, including ids with slashes", async () => {
    const ids = []
    for await (const m of client.models.list()) ids.push(m.id)
    expect(ids).toEqual(["gemma", "gpt-4o-mini", "llama3.2:latest", "meta-llama/Llama-3.1-8B-Instruct"])
    const m = await client.models.retrieve("meta-llama/Llama-3.1-8B-Instruct")
    expect(m.id).toBe("meta-llama/Llama-3.1-8B-Instruct")
    expect((m as unknown as { context_length: number }).context_length).toBe(131072)
  })

  test("an unknown model is a NotFoundError with code model_not_found", async () => {
    const err = await client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }).catch((e) => e)
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
    expect(err.status).toBe(404)
    expect(err.code).toBe("model_not_found")
    expect(err.message).toContain("llama3.2:latest")
  })

  test("a malformed request is a BadRequestError naming the field", async () => {
    const err = await client.chat.completions
      .create({ model: "gemma", messages: "not an array" as never })
      .catch((e) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.param).toBe("messages")
  })

  test("all backends failing is an InternalServerError (502) naming them", async () => {
    vllm.faults.status = 500
    try {
      const err = await client.chat.completions
        .create({ model: "meta-llama/Llama-3.1-8B-Instruct", messages: [{ role: "user", content: "x" }] })
        .catch((e) => e)
      expect(err).toBeInstanceOf(OpenAI.InternalServerError)
      expect(err.status).toBe(502)
      expect(err.message).toContain("vllm")
    } finally {
      vllm.faults.status = undefined
    }
  })

  test("a backend failing mid-stream surfaces as an APIError thrown by the stream iterator", async () => {
    vllm.faults.midStreamError = 2
    try {
      const stream = await client.chat.completions.create({
        model: "meta-llama/Llama-3.1-8B-Instruct",
        stream: true,
        messages: [{ role: "user", content: "x" }],
      })
      let text = ""
      const err = await (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ""
      })().catch((e) => e)
      expect(err).toBeInstanceOf(OpenAI.APIError)
      expect(err.message).toContain("Emulated engine failure")
      expect(text.length).toBeGreaterThan(0)
    } finally {
      vllm.faults.midStreamError = undefined
    }
  })
})
