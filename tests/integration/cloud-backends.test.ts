/**
 * Cloud backends: OpenAI, Anthropic (translated both ways, streaming included) and
 * Gemini's OpenAI-compatible endpoint, with keys that only ever go where they belong.
 */
import { describe, expect, test } from "bun:test"
import OpenAI from "openai"
import { startAnthropic, startGemini, startOpenai } from "../../emulators/index.ts"
import { backend, chat } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"

const KEYS = { ANTHROPIC_TEST_KEY: "sk-ant-secret-4242", GEMINI_TEST_KEY: "gm-secret-7777", OPENAI_TEST_KEY: "sk-oai-secret-9999" }
const scope = testScope()

async function cloud(opts: { toolCalls?: { name: string; arguments: Record<string, unknown> }[] } = {}) {
  const anth = await scope.emulator(startAnthropic({ apiKey: KEYS.ANTHROPIC_TEST_KEY, models: ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-3-old"], ...opts }))
  const gem = await scope.emulator(startGemini({ apiKey: KEYS.GEMINI_TEST_KEY }))
  const oai = await scope.emulator(startOpenai({ apiKey: KEYS.OPENAI_TEST_KEY, ...opts }))
  const n = await scope.nexus(
    {
      backends: [
        backend("claude", anth.url, "anthropic", { api_key_env: "ANTHROPIC_TEST_KEY", allow_models: ["claude-*-4-5"] }),
        backend("gemini", gem.url, "google", { api_key_env: "GEMINI_TEST_KEY" }),
        backend("oai", oai.url, "openai", { api_key_env: "OPENAI_TEST_KEY" }),
      ],
    },
    { env: KEYS }
  )
  return { anth, gem, oai, n }
}

describe("cloud backends", () => {
  test("allow-lists keep a cloud account's other models out; Gemini ids lose their models/ prefix", async () => {
    const { n } = await cloud()
    expect([...n.deps.registry.get("claude")!.models.keys()].sort()).toEqual(["claude-haiku-4-5", "claude-sonnet-4-5"])
    expect([...n.deps.registry.get("gemini")!.models.keys()]).toContain("gemini-2.5-flash")
    expect(n.deps.registry.get("claude")!.zone).toBe("open")
  })

  test("Anthropic: an OpenAI request is translated (system, max_tokens, version header, key) and answered in OpenAI's shape", async () => {
    const { anth, n } = await cloud()
    const client = new OpenAI({ baseURL: `${n.url}/v1`, apiKey: "client-dummy-key" })
    const res = await client.chat.completions.create({
      model: "claude-sonnet-4-5",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: "hi" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }] },
      ],
    })
    expect(res.choices[0]!.message.content).toContain("Hello")
    expect(res.choices[0]!.finish_reason).toBe("stop")
    expect(res.usage!.prompt_tokens).toBeGreaterThan(0)
    const sent = anth.stats.lastRequest!
    expect(sent.headers["anthropic-version"]).toBe("2023-06-01")
    expect(sent.headers["x-api-key"]).toBe(KEYS.ANTHROPIC_TEST_KEY)
    expect(sent.headers.authorization).toBeUndefined()
    const body = JSON.parse(sent.body)
    expect(body.system).toBe("Be brief.")
    expect(body.max_tokens).toBe(4096)
    expect(body.messages[0].content[1]).toEqual({ type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } })
  })

  test("Anthropic streams: text deltas, stop reason, and no usage chunk the client did not ask for", async () => {
    const { n } = await cloud()
    const client = new OpenAI({ baseURL: `${n.url}/v1`, apiKey: "x" })
    const stream = await client.chat.completions.create({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }], stream: true })
    let text = ""
    const finishes: (string | null)[] = []
    let usageChunks = 0
    for await (const c of stream) {
      if (c.usage) usageChunks++
      text += c.choices[0]?.delta.content ?? ""
      if (c.choices[0]?.finish_reason) finishes.push(c.choices[0].finish_reason)
    }
    expect(text).toContain("Hello")
    expect(finishes).toEqual(["stop"])
    expect(usageChunks).toBe(0)
    const withUsage = await client.chat.completions.create({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } })
    let usage: OpenAI.CompletionUsage | undefined
    for await (const c of withUsage) if (c.usage) usage = c.usage
    expect(usage!.completion_tokens).toBeGreaterThan(0)
    expect(usage!.prompt_tokens).toBeGreaterThan(0)
  })

  test("Anthropic tools both ways: tool results go back as tool_result, calls come back as tool_calls (streamed input_json_delta too)", async () => {
    const { anth, n } = await cloud({ toolCalls: [{ name: "get_weather", arguments: { location: "Tokyo" } }] })
    const client = new OpenAI({ baseURL: `${n.url}/v1`, apiKey: "x" })
    const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { location: { type: "string" } } } } }]
    const res = await client.chat.completions.create({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "weather?" }], tools, tool_choice: "required" })
    const call = res.choices[0]!.message.tool_calls![0]!
    expect(res.choices[0]!.finish_reason).toBe("tool_calls")
    expect(call.type === "function" && JSON.parse(call.function.arguments)).toEqual({ location: "Tokyo" })
    const sentTools = JSON.parse(anth.stats.lastRequest!.body)
    expect(sentTools.tools[0].input_schema.type).toBe("object")
    expect(sentTools.tool_choice).toEqual({ type: "any" })

    const stream = await client.chat.completions.create({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "weather?" }], tools, stream: true })
    let args = ""
    let name = ""
    let finish = ""
    for await (const c of stream) {
      const d = c.choices[0]?.delta.tool_calls?.[0]
      if (d?.function?.name) name = d.function.name
      args += d?.function?.arguments ?? ""
      if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason
    }
    expect(name).toBe("get_weather")
    expect(JSON.parse(args)).toEqual({ location: "Tokyo" })
    expect(finish).toBe("tool_calls")

    anth.state.toolCalls = []
    await client.chat.completions.create({
      model: "claude-sonnet-4-5",
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: null, tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"location":"Tokyo"}' } }] },
        { role: "tool", tool_call_id: "toolu_1", content: "sunny" },
      ],
      tools,
    })
    const sent = JSON.parse(anth.stats.lastRequest!.body)
    expect(sent.messages[1]).toEqual({ role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { location: "Tokyo" } }] })
    expect(sent.messages[2]).toEqual({ role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "sunny" }] })
  })

  test("Gemini through its OpenAI endpoint, Bearer key; OpenAI streams ask for usage and hide the extra chunk", async () => {
    const { gem, oai, n } = await cloud()
    const res = await n.post("/v1/chat/completions", chat("gemini-2.5-flash"), { authorization: "Bearer client-own-token" })
    expect(res.status).toBe(200)
    expect(gem.stats.lastRequest!.headers.authorization).toBe(`Bearer ${KEYS.GEMINI_TEST_KEY}`)
    const s = await n.post("/v1/chat/completions", chat("gpt-4o-mini", { stream: true }), { authorization: "Bearer client-own-token", "x-api-key": "client-x" })
    const text = await s.text()
    expect(oai.stats.lastRequest!.headers.authorization).toBe(`Bearer ${KEYS.OPENAI_TEST_KEY}`)
    expect(oai.stats.lastRequest!.headers["x-api-key"]).toBeUndefined()
    expect(JSON.parse(oai.stats.lastRequest!.body).stream_options).toEqual({ include_usage: true })
    expect(text).not.toContain('"usage"')
    expect(text).toContain("data: [DONE]")
  })

  test("upstream errors: Gemini's array-wrapped error in the OpenAI envelope; a cloud 429's Retry-After reaches the client", async () => {
    const { gem, oai, n } = await cloud()
    gem.faults.status = 400
    gem.faults.statusCount = 1
    const bad = await n.post("/v1/chat/completions", chat("gemini-2.5-flash"))
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { message: string } }).error.message).toBe("Emulated failure 400")
    oai.faults.status = 429
    oai.faults.retryAfter = 7
    const limited = await n.post("/v1/chat/completions", chat("gpt-4o-mini"))
    expect(limited.status).toBe(429)
    expect(limited.headers.get("retry-after")).toBe("7")
  })

  test("Anthropic: a mid-stream error event ends the OpenAI stream with an error event; 529 fails over like a 5xx", async () => {
    const { anth, n } = await cloud()
    anth.faults.midStreamError = 1
    const res = await n.post("/v1/chat/completions", chat("claude-sonnet-4-5", { stream: true }))
    const text = await res.text()
    expect(text).toContain('"error"')
    expect(text).toContain("Overloaded")
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true)
    anth.faults.midStreamError = undefined
    anth.faults.status = 529
    const over = await n.post("/v1/chat/completions", chat("claude-sonnet-4-5"))
    expect(over.status).toBeGreaterThanOrEqual(500)
    expect(((await over.json()) as { error: { message: string } }).error.message).toContain("Overloaded")
  })

  test("cloud backends are probed gently: not on every health round", async () => {
    const { oai, n } = await cloud()
    const before = oai.stats.byPath["/v1/models"] ?? 0
    for (let i = 0; i < 3; i++) await n.deps.health.checkAll()
    expect(oai.stats.byPath["/v1/models"] ?? 0).toBe(before)
  })
})
