/**
 * The official `ollama` npm client against Nexus, as Open WebUI and ollama-js apps use it:
 * in front of an Ollama server (bytes pass through) and of vLLM (translated).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Ollama } from "ollama"
import { startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"

const REPLY = "Hello! I am an emulated model, answering through Nexus."
let nexus: TestNexus
let ollama: Emulator
let vllm: Emulator
let client: Ollama

beforeAll(async () => {
  ollama = await startOllama({ models: ["llama3.2:latest", { id: "nomic-embed-text:latest", capabilities: ["embedding"] } as never], chunks: 5 })
  vllm = await startVllm({ models: ["qwen-coder"], chunks: 5, toolCalls: [{ name: "get_weather", arguments: { city: "Tokyo" } }] })
  nexus = await startNexus({ backends: [backend("ollama", ollama.url, "ollama"), backend("vllm", vllm.url, "vllm")] })
  client = new Ollama({ host: nexus.url })
})

afterAll(async () => {
  await nexus.stop(0)
  await Promise.all([ollama.stop(), vllm.stop()])
})

describe("ollama npm client", () => {
  test("version and list", async () => {
    const { version } = await client.version()
    expect(version).toMatch(/^\d+\.\d+\.\d+$/)
    // Codex's --oss mode refuses an Ollama older than 0.13.4.
    expect(Bun.semver.satisfies(version, ">=0.13.4")).toBe(true)
    const names = (await client.list()).models.map((m) => m.name)
    expect(names).toContain("llama3.2:latest")
    expect(names).toContain("qwen-coder")
  })

  test("show, with llama3.2 meaning llama3.2:latest", async () => {
    const info = await client.show({ model: "llama3.2" })
    expect(info.capabilities).toContain("completion")
    const err = await client.show({ model: "nope" }).catch((e) => e)
    expect(err.status_code).toBe(404)
    expect(err.message).toBe("model 'nope' not found")
  })

  for (const model of ["llama3.2", "qwen-coder"]) {
    test(`chat streamed and not (${model})`, async () => {
      const whole = await client.chat({ model, messages: [{ role: "user", content: "hi" }], options: { temperature: 0.2, num_predict: 50 } })
      expect(whole.message.content).toBe(REPLY)
      expect(whole.done).toBe(true)
      expect(whole.eval_count).toBeGreaterThan(0)
      const parts: string[] = []
      let last
      for await (const part of await client.chat({ model, stream: true, messages: [{ role: "user", content: "hi" }] })) {
        parts.push(part.message.content)
        last = part
      }
      expect(parts.join("")).toBe(REPLY)
      expect(parts.length).toBeGreaterThan(2)
      expect(last!.done_reason).toBe("stop")
      expect(last!.prompt_eval_count).toBeGreaterThan(0)
      // Ollama to Ollama: the client's request went to Ollama's own route, as sent.
      if (model === "llama3.2") expect(ollama.stats.byPath["/api/chat"]).toBeGreaterThan(0)
    })

    test(`generate (${model})`, async () => {
      const r = await client.generate({ model, prompt: "hi", system: "be brief" })
      expect(r.response).toBe(REPLY)
      let text = ""
      for await (const part of await client.generate({ model, prompt: "hi", stream: true })) text += part.response
      expect(text).toBe(REPLY)
    })
  }

  test("tool calls come back in Ollama's shape (arguments an object)", async () => {
    const tools = [{ type: "function", function: { name: "get_weather", description: "weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }]
    const r = await client.chat({ model: "qwen-coder", tools, messages: [{ role: "user", content: "weather?" }] })
    expect(r.message.tool_calls?.[0]?.function).toMatchObject({ name: "get_weather", arguments: { city: "Tokyo" } })
    const calls = []
    for await (const part of await client.chat({ model: "qwen-coder", tools, stream: true, messages: [{ role: "user", content: "weather?" }] })) calls.push(...(part.message.tool_calls ?? []))
    expect(calls[0]?.function.arguments).toEqual({ city: "Tokyo" })
    // The result goes back as a tool message.
    const next = await client.chat({
      model: "qwen-coder",
      messages: [{ role: "user", content: "weather?" }, r.message, { role: "tool", content: "21 C", tool_name: "get_weather" }],
    })
    expect(next.message.content).toBe(REPLY)
  })

  test("embed on both backends", async () => {
    for (const model of ["nomic-embed-text", "qwen-coder"]) {
      const r = await client.embed({ model, input: ["a", "b"] })
      expect(r.embeddings.length).toBeGreaterThan(0)
      expect(r.embeddings[0]!.length).toBe(3)
    }
    const legacy = await client.embeddings({ model: "qwen-coder", prompt: "a" })
    expect(legacy.embedding.length).toBe(3)
  })

  test("errors show their message, not [object Object]", async () => {
    const err = await client.chat({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] }).catch((e) => e)
    expect(err.status_code).toBe(404)
    expect(String(err.message)).toContain("no-such-model")
    expect(String(err.message)).not.toContain("[object Object]")
  })

  test("pull of a served model is a progress stream ending in success; any other is an Ollama error", async () => {
    const steps: string[] = []
    for await (const p of await client.pull({ model: "llama3.2", stream: true })) steps.push(p.status)
    expect(steps.at(-1)).toBe("success")
    expect(steps[0]).toBe("pulling manifest")
    expect((await client.pull({ model: "qwen-coder" })).status).toBe("success")
    const err = await client.pull({ model: "gpt-oss:20b" }).catch((e) => e)
    expect(err.status_code).toBe(404)
    expect(String(err.message)).toContain("does not download models")
    // Streamed, a failed pull ends with Ollama's error line, which the client throws.
    const streamed = await (async () => {
      for await (const _ of await client.pull({ model: "gpt-oss:20b", stream: true })) void _
    })().catch((e) => e)
    expect(String(streamed?.message)).toContain("does not download models")
    // And nothing was sent to a backend's own /api/pull.
    expect(ollama.stats.byPath["/api/pull"] ?? 0).toBe(0)
  })

  test("every /api/* error is in Ollama's envelope: unknown route, wrong method, bad body", async () => {
    for (const [method, path, body, status] of [
      ["GET", "/api/nope", undefined, 404],
      ["GET", "/api/pull", undefined, 405],
      ["POST", "/api/show", "{not json", 400],
      ["POST", "/api/pull", "{}", 400],
      ["DELETE", "/api/delete", JSON.stringify({ model: "llama3.2" }), 404],
    ] as const) {
      const res = await fetch(`${nexus.url}${path}`, { method, body, headers: body ? { "content-type": "application/json" } : {} })
      expect(res.status).toBe(status)
      const json = (await res.json()) as Record<string, unknown>
      expect(Object.keys(json)).toEqual(["error"])
      expect(typeof json.error).toBe("string")
    }
  })

  test("GET / and HEAD / answer as Ollama does; a browser falls through", async () => {
    const root = await fetch(`${nexus.url}/`)
    expect(await root.text()).toBe("Ollama is running")
    expect((await fetch(`${nexus.url}/`, { method: "HEAD" })).status).toBe(200)
    const browser = await fetch(`${nexus.url}/`, { headers: { accept: "text/html,application/xhtml+xml" } })
    expect(await browser.text()).not.toBe("Ollama is running")
  })

  test("the OpenAI endpoint also takes llama3.2 for llama3.2:latest", async () => {
    const res = await nexus.post("/v1/chat/completions", { model: "llama3.2", messages: [{ role: "user", content: "hi" }] })
    expect(res.status).toBe(200)
    expect(res.headers.get("x-nexus-model")).toBe("llama3.2:latest")
  })
})
