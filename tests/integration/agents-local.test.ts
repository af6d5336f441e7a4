/**
 * Coding agents on local models: the output budget clamp, glob aliases for the agents'
 * own model ids, and Anthropic-only controls that never trouble a local backend.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"

let nexus: TestNexus
let small: Emulator
let big: Emulator

/** What Claude Code sends, trimmed: 32000 output tokens and the Anthropic-only controls. */
function claudeCode(model: string, prompt = "Say hello", extra: Record<string, unknown> = {}) {
  return {
    model,
    max_tokens: 32000,
    stream: false,
    system: [
      { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.328" },
      { type: "text", text: "You are Claude Code.", cache_control: { type: "ephemeral" } },
    ],
    messages: [{ role: "user", content: [{ type: "text", text: prompt, cache_control: { type: "ephemeral" } }] }],
    metadata: { user_id: JSON.stringify({ device_id: "d", session_id: "s-1" }) },
    thinking: { type: "adaptive", display: "omitted" },
    context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
    output_config: { effort: "high" },
    ...extra,
  }
}

const BETA = { "anthropic-version": "2023-06-01", "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27" }

beforeAll(async () => {
  small = await startVllm({ models: [{ id: "qwen-small", contextLength: 8192 }, { id: "exact-target" }] })
  big = await startVllm({ models: [{ id: "qwen-big", contextLength: 16384 }] })
  nexus = await startNexus({
    routing: { aliases: { "claude-haiku-4-5": "exact-target", "claude-*": "qwen-small", "gpt-5*": "qwen-big", "*": "qwen-big" } },
    backends: [backend("small", small.url, "vllm"), backend("big", big.url, "vllm")],
  })
})

afterAll(async () => {
  await nexus.stop(0)
  await Promise.all([small.stop(), big.stop()])
})

describe("output budget", () => {
  test("Claude Code's 32000 is clamped to what the model has left, and the header says so", async () => {
    const res = await nexus.post("/v1/messages", claudeCode("claude-sonnet-4-5"), BETA)
    expect(res.status).toBe(200)
    const clamped = res.headers.get("x-nexus-max-tokens-clamped")!
    expect(clamped).toMatch(/^32000->\d+$/)
    const n = Number(clamped.split("->")[1])
    expect(n).toBeGreaterThan(8000)
    expect(n).toBeLessThan(8192)
    const sent = JSON.parse(small.stats.bodies.at(-1)!)
    expect(sent.max_tokens).toBe(n)
    expect(sent.model).toBe("qwen-small")
    expect(((await res.json()) as { type: string }).type).toBe("message")
  })

  test("a budget that fits is left alone and no header is set", async () => {
    const res = await nexus.post("/v1/messages", claudeCode("claude-sonnet-4-5", "hi", { max_tokens: 100 }), BETA)
    expect(res.status).toBe(200)
    expect(res.headers.get("x-nexus-max-tokens-clamped")).toBeNull()
    expect(JSON.parse(small.stats.bodies.at(-1)!).max_tokens).toBe(100)
  })

  test("the prompt counts: a budget that fits the window only without the prompt is clamped", async () => {
    const res = await nexus.post("/v1/messages", claudeCode("claude-sonnet-4-5", "read this carefully ".repeat(100), { max_tokens: 8000 }), BETA)
    expect(res.status).toBe(200)
    const clamped = res.headers.get("x-nexus-max-tokens-clamped")
    expect(clamped).toMatch(/^8000->\d+$/)
    expect(JSON.parse(small.stats.bodies.at(-1)!).max_tokens).toBe(Number(clamped!.split("->")[1]))
    await res.text()
  })

  test("OpenAI and Responses clients are clamped the same way", async () => {
    const chat = await nexus.post("/v1/chat/completions", { model: "qwen-small", max_tokens: 32000, messages: [{ role: "user", content: "hi" }] })
    expect(chat.status).toBe(200)
    expect(chat.headers.get("x-nexus-max-tokens-clamped")).toMatch(/^32000->81\d\d$/)
    const resp = await nexus.post("/v1/responses", { model: "gpt-5-codex", max_output_tokens: 32000, input: "hi" })
    expect(resp.status).toBe(200)
    expect(resp.headers.get("x-nexus-model")).toBe("qwen-big")
    expect(resp.headers.get("x-nexus-max-tokens-clamped")).toMatch(/^32000->163\d\d$/)
  })

  test("a prompt that fits no backend is refused in the client's dialect, naming the largest context", async () => {
    const res = await nexus.post("/v1/messages", claudeCode("claude-sonnet-4-5", "x".repeat(40_000)), BETA)
    expect(res.status).toBe(400)
    const body = (await res.json()) as { type: string; error: { type: string; message: string } }
    expect(body.type).toBe("error")
    expect(body.error.type).toBe("invalid_request_error")
    // Anthropic's own sentence, to the letter: Claude Code matches it and compacts.
    expect(body.error.message).toMatch(/^prompt is too long: \d+ tokens > 8192 maximum$/)
  })
})

describe("aliases for the agents' own model ids", () => {
  test("an exact alias wins over a glob, and the first matching glob wins", async () => {
    const exact = await nexus.post("/v1/messages", claudeCode("claude-haiku-4-5", "hi"), BETA)
    expect(exact.headers.get("x-nexus-model")).toBe("exact-target")
    const glob = await nexus.post("/v1/messages", claudeCode("claude-opus-4-1", "hi"), BETA)
    expect(glob.headers.get("x-nexus-model")).toBe("qwen-small")
    const codex = await nexus.post("/v1/chat/completions", { model: "gpt-5-codex", messages: [{ role: "user", content: "hi" }] })
    expect(codex.headers.get("x-nexus-model")).toBe("qwen-big")
  })

  test("a glob never hides a model a backend serves under that name", async () => {
    const res = await nexus.post("/v1/chat/completions", { model: "qwen-small", messages: [{ role: "user", content: "hi" }] })
    expect(res.headers.get("x-nexus-model")).toBe("qwen-small")
  })
})

describe("Anthropic-only controls on a local backend", () => {
  test("thinking, context_management, output_config, cache_control and beta flags are accepted and not sent", async () => {
    const res = await nexus.post("/v1/messages", claudeCode("claude-sonnet-4-5", "hi", { stream: true }), BETA)
    expect(res.status).toBe(200)
    await res.text()
    const sent = small.stats.bodies.at(-1)!
    for (const k of ["context_management", "cache_control", "metadata"]) expect(sent).not.toContain(k)
    const body = JSON.parse(sent) as Record<string, unknown>
    for (const k of ["thinking", "output_config"]) expect(body[k]).toBeUndefined()
    // The wish to think reaches vLLM as its own chat-template switch.
    expect(body.chat_template_kwargs).toEqual({ enable_thinking: true })
  })
})

describe("Anthropic-only controls on an Anthropic backend", () => {
  test("Claude Code's request reaches Anthropic untouched: controls, cache_control and beta flags", async () => {
    const { startAnthropic } = await import("../../emulators/index.ts")
    const anth = await startAnthropic({ apiKey: "sk-ant-test-1", models: ["claude-sonnet-4-5"] })
    const n = await startNexus({ backends: [backend("claude", anth.url, "anthropic", { api_key_env: "ANTHROPIC_AGENTS_TEST_KEY" })] }, { env: { ANTHROPIC_AGENTS_TEST_KEY: "sk-ant-test-1" } })
    try {
      const raw = JSON.stringify(claudeCode("claude-sonnet-4-5", "hi"))
      const res = await n.post("/v1/messages", raw, BETA)
      expect(res.status).toBe(200)
      expect(res.headers.get("x-nexus-max-tokens-clamped")).toBeNull()
      const sent = anth.stats.lastRequest!
      expect(sent.body).toBe(raw)
      expect(sent.headers["anthropic-beta"]).toBe(BETA["anthropic-beta"])
    } finally {
      await n.stop(0)
      await anth.stop()
    }
  })
})

describe("system turns inside the conversation", () => {
  /** Claude Code's turn after a tool call: its environment as a system turn after the prompt. */
  const conversation = [
    { role: "user", content: [{ type: "text", text: "Read notes.txt" }] },
    { role: "system", content: [{ type: "text", text: "# Environment\nplatform: linux", cache_control: { type: "ephemeral" } }] },
    { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "Read", input: { file_path: "notes.txt" } }] },
    { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "PELICAN" }] },
  ]

  test("a llama.cpp server whose template is strict gets them as user-side text, in place, in either form", async () => {
    const { startLlamacpp } = await import("../../emulators/index.ts")
    const strict = await startLlamacpp({ strictTemplate: true, models: ["qwen3.6"] })
    const n = await startNexus({ routing: { aliases: { "claude-*": "qwen3.6" } }, backends: [backend("llamacpp", strict.url, "llamacpp")] })
    try {
      // The emulated template raises the way llama.cpp reports it.
      const direct = await fetch(`${strict.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ messages: [{ role: "user", content: "a" }, { role: "system", content: "b" }] }) })
      expect(direct.status).toBe(400)
      expect(JSON.stringify(await direct.json())).toContain("System message must be at the beginning.")
      for (const stream of [false, true]) {
        const res = await n.post("/v1/messages", claudeCode("claude-opus-5-5", "hi", { stream, messages: conversation }), BETA)
        expect(res.status).toBe(200)
        expect(await res.text()).toContain("Hello")
        const sent = JSON.parse(strict.stats.bodies.at(-1)!) as { messages: { role: string; content: unknown }[] }
        expect(sent.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool"])
        expect(sent.messages[1]!.content).toBe("Read notes.txt\n\n<system-reminder>\n# Environment\nplatform: linux\n</system-reminder>")
      }
      const count = await n.post("/v1/messages/count_tokens", { model: "claude-opus-5-5", messages: conversation }, BETA)
      expect(count.status).toBe(200)
    } finally {
      await n.stop(0)
      await strict.stop()
    }
  })

  test("a system turn before any user turn is refused in Anthropic's error shape", async () => {
    const res = await nexus.post("/v1/messages", claudeCode("claude-sonnet-4-5", "hi", { messages: [{ role: "system", content: "x" }, { role: "user", content: "hi" }] }), BETA)
    expect(res.status).toBe(400)
    const body = (await res.json()) as { type: string; error: { type: string; message: string } }
    expect(body.error.type).toBe("invalid_request_error")
    expect(body.error.message).toContain("messages[0]: a system message may only follow a user turn")
  })

  test("Anthropic gets them as sent, and refuses one that comes first as the API does", async () => {
    const { startAnthropic } = await import("../../emulators/index.ts")
    const anth = await startAnthropic({ models: ["claude-opus-5-5"] })
    const n = await startNexus({ backends: [backend("claude", anth.url, "anthropic", { api_key_env: "ANTHROPIC_SYSTEM_TURNS_KEY" })] }, { env: { ANTHROPIC_SYSTEM_TURNS_KEY: "sk-ant-x" } })
    try {
      const raw = JSON.stringify(claudeCode("claude-opus-5-5", "hi", { messages: conversation }))
      const res = await n.post("/v1/messages", raw, BETA)
      expect(res.status).toBe(200)
      expect(anth.stats.lastRequest!.body).toBe(raw)
      const first = await fetch(`${anth.url}/v1/messages`, { method: "POST", headers: BETA, body: JSON.stringify({ model: "claude-opus-5-5", max_tokens: 5, messages: [{ role: "system", content: "x" }] }) })
      expect(first.status).toBe(400)
    } finally {
      await n.stop(0)
      await anth.stop()
    }
  })
})
