/**
 * Anthropic clients on servers that speak another dialect. What the Messages API grows
 * faster than a gateway: fields and block types Nexus does not know reach an Anthropic
 * backend as sent, and a local backend without them (a debug line says what was left
 * out), never as a 400 from Nexus. Usage as Claude Code reads it: from the first event
 * on, never 0, with what the server's prompt cache served.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { startAnthropic, startLlamacpp, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"

const HEADERS = { "anthropic-version": "2023-06-01" }
let local: Emulator
let anthropic: Emulator
let cpp: Emulator
let nexus: TestNexus

beforeAll(async () => {
  local = await startVllm({ models: ["qwen3-coder"] })
  anthropic = await startAnthropic({ models: ["claude-opus-5-5"] })
  cpp = await startLlamacpp({ models: ["qwen-cpp"], chunks: 3 })
  nexus = await startNexus(
    { backends: [backend("local", local.url, "vllm"), backend("claude", anthropic.url, "anthropic", { api_key_env: "EXTRAS_TEST_KEY" }), backend("cpp", cpp.url, "llamacpp")] },
    { env: { EXTRAS_TEST_KEY: "sk-ant-extras" } }
  )
})

afterAll(async () => {
  await nexus.stop(0)
  await Promise.all([local.stop(), anthropic.stop(), cpp.stop()])
})

/** A request with a field, a block type, an image source and a server tool from the future. */
const futuristic = (model: string) => ({
  model,
  max_tokens: 100,
  future_switch: { level: 3 },
  inference_geo: "eu",
  tools: [
    { name: "Read", description: "read a file", input_schema: { type: "object", properties: {} } },
    { type: "web_search_20250305", name: "web_search" },
  ],
  messages: [
    {
      role: "user",
      content: [
        { type: "text", text: "Look at this" },
        { type: "image", source: { type: "file", file_id: "file_011" } },
        { type: "hologram_2027", frames: 3 },
      ],
    },
    { role: "assistant", content: [{ type: "thinking", thinking: "hm", signature: "sig" }, { type: "text", text: "ok" }, { type: "tool_use", id: "toolu_1", name: "Read", input: {} }] },
    { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "search_result", source: "s", title: "t", content: [] }, { type: "text", text: "read" }] }, { type: "text", text: "go on" }] },
  ],
})

describe("fields and blocks Nexus does not know", () => {
  test("an Anthropic backend gets them byte for byte", async () => {
    const raw = JSON.stringify(futuristic("claude-opus-5-5"))
    const res = await nexus.post("/v1/messages", raw, HEADERS)
    expect(res.status).toBe(200)
    expect(anthropic.stats.lastRequest!.body).toBe(raw)
  })

  test("a local backend gets the rest, and a debug line names what was left out", async () => {
    const res = await nexus.post("/v1/messages", futuristic("qwen3-coder"), HEADERS)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { type: string }).type).toBe("message")
    const sent = local.stats.bodies.at(-1)!
    for (const gone of ["future_switch", "inference_geo", "hologram_2027", "file_011", "web_search", "thinking"]) expect(sent).not.toContain(gone)
    const body = JSON.parse(sent) as { messages: { role: string; content: unknown }[]; tools: unknown[] }
    expect(body.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool", "user"])
    expect(body.messages[0]!.content).toBe("Look at this")
    expect(body.tools).toHaveLength(1)
    const line = nexus.logs.find((l) => typeof l.msg === "string" && l.msg.startsWith("kept only for anthropic backends"))
    expect(line?.dropped).toEqual(expect.arrayContaining(["future_switch", "inference_geo", "hologram_2027 block", "image source file", "thinking block", "tool web_search_20250305", "search_result block in a tool result"]))
  })
})

type Usage = { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number }
type Ev = { type: string; usage?: Usage; message?: { usage: Usage } }

/** The events of an Anthropic stream, parsed. */
async function events(res: Response): Promise<Ev[]> {
  const text = await res.text()
  return text
    .split("\n\n")
    .map((e) => e.split("\n").find((l) => l.startsWith("data: ")))
    .filter((d): d is string => !!d)
    .map((d) => JSON.parse(d.slice(6)))
}


describe("usage from a server that speaks OpenAI", () => {
  const conversation = (stream: boolean) => ({
    model: "qwen-cpp",
    max_tokens: 100,
    stream,
    system: "You are a careful coder. ".repeat(40),
    messages: [{ role: "user", content: "Summarise the repository layout, please. ".repeat(20) }],
  })

  test("message_start carries the prompt's estimate, the end the server's count with what its cache served", async () => {
    const first = await events(await nexus.post("/v1/messages", conversation(true), HEADERS))
    expect(first[0]!.type).toBe("message_start")
    expect(first[0]!.message!.usage.input_tokens).toBeGreaterThan(300)
    const delta = first.find((e) => e.type === "message_delta")!
    expect(delta.usage!.input_tokens).toBeGreaterThan(0)
    // The same prompt again: llama.cpp's slot holds all of it but the last token.
    const again = await events(await nexus.post("/v1/messages", conversation(true), HEADERS))
    const usage = again.find((e) => e.type === "message_delta")!.usage!
    expect(usage.cache_read_input_tokens).toBeGreaterThan(100)
    expect(usage.input_tokens + usage.cache_read_input_tokens!).toBe(delta.usage!.input_tokens + (delta.usage!.cache_read_input_tokens ?? 0))
    expect(usage.cache_creation_input_tokens).toBe(0)
  })

  test("a whole message reports the cache too", async () => {
    await nexus.post("/v1/messages", conversation(false), HEADERS)
    const res = await nexus.post("/v1/messages", conversation(false), HEADERS)
    const usage = ((await res.json()) as { usage: Usage }).usage
    expect(usage.cache_read_input_tokens).toBeGreaterThan(100)
    expect(usage.input_tokens).toBeGreaterThan(0)
  })

  test("a server that says nothing of its cache: no cache fields made up, and input never 0", async () => {
    const body = { ...conversation(true), model: "qwen3-coder", stream: true }
    const all = await events(await nexus.post("/v1/messages", body, HEADERS))
    expect(all[0]!.message!.usage.input_tokens).toBeGreaterThan(0)
    const usage = all.find((e) => e.type === "message_delta")!.usage!
    expect(usage.input_tokens).toBeGreaterThan(0)
    expect(usage.cache_read_input_tokens).toBeUndefined()
  })
})

describe("tool search on a local backend", () => {
  const tool = (name: string, deferred = false) => ({ name, description: `${name} tool`, input_schema: { type: "object", properties: {} }, ...(deferred ? { defer_loading: true } : {}) })
  const tools = [tool("Read"), tool("ToolSearch"), tool("WebFetch", true), tool("DeferredToolPlaceholder", true)]
  const ask = { role: "user", content: "fetch example.org" }
  const search = { role: "assistant", content: [{ type: "tool_use", id: "toolu_s", name: "ToolSearch", input: { query: "select:WebFetch" } }] }
  const loaded = { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_s", content: [{ type: "tool_reference", tool_name: "WebFetch" }] }, { type: "text", text: "Tool loaded." }] }
  const offered = () => (JSON.parse(local.stats.bodies.at(-1)!) as { tools: { function: { name: string } }[] }).tools.map((t) => t.function.name)

  test("deferred tools are not offered until a tool search loads them; the placeholder never is", async () => {
    expect((await nexus.post("/v1/messages", { model: "qwen3-coder", max_tokens: 50, tools, messages: [ask] }, HEADERS)).status).toBe(200)
    expect(offered()).toEqual(["Read", "ToolSearch"])
    expect((await nexus.post("/v1/messages", { model: "qwen3-coder", max_tokens: 50, tools, messages: [ask, search, loaded] }, HEADERS)).status).toBe(200)
    expect(offered()).toEqual(["Read", "ToolSearch", "WebFetch"])
  })

  test("the tool search's result tells the model which tools it now has", async () => {
    await nexus.post("/v1/messages", { model: "qwen3-coder", max_tokens: 50, tools, messages: [ask, search, loaded] }, HEADERS)
    const messages = (JSON.parse(local.stats.bodies.at(-1)!) as { messages: Record<string, unknown>[] }).messages
    expect(messages.at(-2)).toEqual({ role: "tool", tool_call_id: "toolu_s", content: "Tool WebFetch is now available to call." })
    expect(messages.at(-1)).toEqual({ role: "user", content: "Tool loaded." })
  })
})
