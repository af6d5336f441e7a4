/**
 * The openai SDK's `responses.create` against Nexus: passed through to vLLM (which
 * implements the Responses API), translated for Ollama and llama.cpp.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import OpenAI from "openai"
import { startLlamacpp, startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"

const REPLY = "Hello! I am an emulated model, answering through Nexus."
let nexus: TestNexus
let ollama: Emulator
let vllm: Emulator
let llama: Emulator
let client: OpenAI

beforeAll(async () => {
  ollama = await startOllama({ models: ["llama3.2:latest"], chunks: 5 })
  vllm = await startVllm({ models: ["qwen-coder"], chunks: 5 })
  llama = await startLlamacpp({ models: ["gemma"], chunks: 5, toolCalls: [{ name: "exec_command", arguments: { cmd: "ls -la" } }] })
  nexus = await startNexus({ backends: [backend("ollama", ollama.url, "ollama"), backend("vllm", vllm.url, "vllm"), backend("llama", llama.url, "llamacpp")] })
  client = new OpenAI({ baseURL: `${nexus.url}/v1`, apiKey: "not-needed", maxRetries: 0 })
})

afterAll(async () => {
  await nexus.stop(0)
  await Promise.all([ollama.stop(), vllm.stop(), llama.stop()])
})

describe("openai SDK responses.create", () => {
  for (const model of ["qwen-coder", "llama3.2", "gemma"]) {
    test(`not streamed (${model})`, async () => {
      const r = await client.responses.create({ model, instructions: "be brief", input: "hi", store: false })
      expect(r.output_text).toBe(REPLY)
      expect(r.status).toBe("completed")
      expect(r.usage?.output_tokens).toBeGreaterThan(0)
    })

    test(`streamed, semantic events (${model})`, async () => {
      const stream = await client.responses.create({
        model,
        stream: true,
        input: [
          { role: "developer", content: "be brief" },
          { role: "user", content: [{ type: "input_text", text: "hi" }] },
        ],
      })
      const types: string[] = []
      let text = ""
      for await (const ev of stream) {
        types.push(ev.type)
        if (ev.type === "response.output_text.delta") text += ev.delta
      }
      expect(text).toBe(REPLY)
      expect(types[0]).toBe("response.created")
      expect(types).toContain("response.output_item.added")
      expect(types.at(-1)).toBe("response.completed")
    })
  }

  test("vLLM gets the client's bytes on its own /v1/responses", async () => {
    expect(vllm.stats.byPath["/v1/responses"]).toBeGreaterThan(0)
  })

  test("function calls stream their arguments; the output goes back", async () => {
    const tools = [{ type: "function" as const, name: "exec_command", description: "run", strict: false, parameters: { type: "object", properties: { cmd: { type: "string" } } } }]
    const stream = await client.responses.create({ model: "gemma", stream: true, tools, input: "list files" })
    let args = ""
    let done: OpenAI.Responses.Response | undefined
    for await (const ev of stream) {
      if (ev.type === "response.function_call_arguments.delta") args += ev.delta
      if (ev.type === "response.completed") done = ev.response
    }
    expect(JSON.parse(args)).toEqual({ cmd: "ls -la" })
    const call = done!.output.find((o) => o.type === "function_call")!
    expect(call).toMatchObject({ type: "function_call", name: "exec_command" })
    const next = await client.responses.create({
      model: "gemma",
      input: [{ role: "user", content: "list files" }, call as OpenAI.Responses.ResponseFunctionToolCall, { type: "function_call_output", call_id: (call as { call_id: string }).call_id, output: "a b c" }],
    })
    expect(next.output_text).toBe(REPLY)
  })

  test("a previous_response_id nobody keeps is OpenAI's 404 naming it", async () => {
    const err = await client.responses.create({ model: "gemma", input: "hi", previous_response_id: "resp_1" }).catch((e) => e)
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
    expect(err.param).toBe("previous_response_id")
    expect(err.message).toContain("Previous response")
  })
})
