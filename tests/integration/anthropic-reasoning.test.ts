/**
 * Anthropic's reasoning controls on local servers: `thinking` in every form and
 * `output_config.effort` reach each server as its own switch (vLLM and llama.cpp's
 * chat-template flag, Ollama's reasoning effort); what a thinking model reasons comes back
 * as thinking blocks, in order, unless the client asked for it to be omitted; thinking
 * blocks a client replays reach Anthropic byte for byte and a local model not at all.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { startAnthropic, startLlamacpp, startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"

const HEADERS = { "anthropic-version": "2023-06-01" }
const REASONING = "First I weigh the options, then I answer."
const REPLY = "The answer is 42."
const LOCAL = { vllm: "qwen-vllm", llamacpp: "qwen-cpp", ollama: "qwen3:8b" } as const
type Local = keyof typeof LOCAL

let emus: Record<Local | "anthropic", Emulator>
let nexus: TestNexus

beforeAll(async () => {
  const thinker = { reasoning: REASONING, reply: REPLY, chunks: 3 }
  emus = {
    vllm: await startVllm({ ...thinker, models: [LOCAL.vllm] }),
    llamacpp: await startLlamacpp({ ...thinker, models: [LOCAL.llamacpp] }),
    ollama: await startOllama({ ...thinker, models: [LOCAL.ollama] }),
    anthropic: await startAnthropic({ models: ["claude-opus-5-5"] }),
  }
  nexus = await startNexus(
    {
      backends: [
        backend("vllm", emus.vllm.url, "vllm"),
        backend("llamacpp", emus.llamacpp.url, "llamacpp"),
        backend("ollama", emus.ollama.url, "ollama"),
        backend("claude", emus.anthropic.url, "anthropic", { api_key_env: "REASONING_TEST_KEY" }),
      ],
    },
    { env: { REASONING_TEST_KEY: "sk-ant-r" } }
  )
})

afterAll(async () => {
  await nexus.stop(0)
  await Promise.all(Object.values(emus).map((e) => e.stop()))
})

const request = (model: string, extra: Record<string, unknown> = {}) => ({ model, max_tokens: 200, messages: [{ role: "user", content: "What is the answer?" }], ...extra })
const sent = (kind: Local) => JSON.parse(emus[kind].stats.bodies.at(-1)!) as Record<string, unknown>

/** What each server gets for each form of the controls: its own switch, or nothing. */
const FORMS: { name: string; extra: Record<string, unknown>; want: Record<Local, Record<string, unknown>> }[] = [
  {
    name: "adaptive thinking with an effort",
    extra: { thinking: { type: "adaptive", display: "summarized" }, output_config: { effort: "high" } },
    want: {
      vllm: { chat_template_kwargs: { enable_thinking: true }, reasoning_effort: "high" },
      llamacpp: { chat_template_kwargs: { enable_thinking: true } },
      ollama: { reasoning_effort: "high" },
    },
  },
  {
    name: "thinking enabled with a small budget",
    extra: { thinking: { type: "enabled", budget_tokens: 2048 } },
    want: { vllm: { chat_template_kwargs: { enable_thinking: true }, reasoning_effort: "low" }, llamacpp: { chat_template_kwargs: { enable_thinking: true } }, ollama: { reasoning_effort: "low" } },
  },
  {
    name: "thinking disabled",
    extra: { thinking: { type: "disabled" } },
    want: { vllm: { chat_template_kwargs: { enable_thinking: false } }, llamacpp: { chat_template_kwargs: { enable_thinking: false } }, ollama: { reasoning_effort: "none" } },
  },
  {
    name: "an effort alone",
    extra: { output_config: { effort: "medium" } },
    want: { vllm: { reasoning_effort: "medium" }, llamacpp: {}, ollama: { reasoning_effort: "medium" } },
  },
  { name: "no controls", extra: {}, want: { vllm: {}, llamacpp: {}, ollama: {} } },
]

describe("reasoning controls reach each server as its own switch", () => {
  for (const form of FORMS) {
    test(form.name, async () => {
      for (const kind of Object.keys(LOCAL) as Local[]) {
        const res = await nexus.post("/v1/messages", request(LOCAL[kind], form.extra), HEADERS)
        expect(res.status).toBe(200)
        const body = sent(kind)
        const got = { chat_template_kwargs: body.chat_template_kwargs, reasoning_effort: body.reasoning_effort }
        expect(got, kind).toEqual({ chat_template_kwargs: undefined, reasoning_effort: undefined, ...form.want[kind] })
        for (const k of ["thinking", "output_config"]) expect(body[k]).toBeUndefined()
      }
    })
  }

  test("a thinking that is not an object is refused in Anthropic's shape", async () => {
    const res = await nexus.post("/v1/messages", request(LOCAL.vllm, { thinking: "on" }), HEADERS)
    expect(res.status).toBe(400)
    const body = (await res.json()) as { type: string; error: { type: string; message: string } }
    expect(body.error.type).toBe("invalid_request_error")
    expect(body.error.message).toContain("thinking must be an object")
  })
})

/** The events of an Anthropic stream, parsed. */
async function events(res: Response): Promise<Record<string, any>[]> {
  return (await res.text())
    .split("\n\n")
    .map((e) => e.split("\n").find((l) => l.startsWith("data: ")))
    .filter((d): d is string => !!d)
    .map((d) => JSON.parse(d.slice(6)))
}

describe("a local model's reasoning comes back as thinking blocks", () => {
  const adaptive = (display: string, stream: boolean) => ({ stream, thinking: { type: "adaptive", display }, output_config: { effort: "high" } })

  for (const kind of Object.keys(LOCAL) as Local[]) {
    test(`${kind}: streamed first, in order, then the answer`, async () => {
      const all = await events(await nexus.post("/v1/messages", request(LOCAL[kind], adaptive("summarized", true)), HEADERS))
      const starts = all.filter((e) => e.type === "content_block_start")
      expect(starts.map((e) => [e.index, e.content_block.type])).toEqual([[0, "thinking"], [1, "text"]])
      const deltas = all.filter((e) => e.type === "content_block_delta")
      const thinking = deltas.filter((e) => e.delta.type === "thinking_delta")
      expect(thinking.length).toBeGreaterThan(1)
      expect(thinking.every((e) => e.index === 0)).toBe(true)
      expect(thinking.map((e) => e.delta.thinking).join("")).toBe(REASONING)
      // Every thinking delta comes before the first text delta.
      const firstText = deltas.findIndex((e) => e.delta.type === "text_delta")
      expect(deltas.slice(0, firstText).every((e) => e.delta.type === "thinking_delta")).toBe(true)
      expect(deltas.filter((e) => e.delta.type === "text_delta").map((e) => e.delta.text).join("")).toBe(REPLY)
    })

    test(`${kind}: a whole message holds the thinking block first`, async () => {
      const res = await nexus.post("/v1/messages", request(LOCAL[kind], adaptive("summarized", false)), HEADERS)
      const msg = (await res.json()) as { content: { type: string; thinking?: string; text?: string }[] }
      expect(msg.content).toEqual([{ type: "thinking", thinking: REASONING, signature: "" }, { type: "text", text: REPLY }] as never)
    })
  }

  test("display omitted: no thinking block, streamed or whole", async () => {
    const all = await events(await nexus.post("/v1/messages", request(LOCAL.vllm, adaptive("omitted", true)), HEADERS))
    expect(all.filter((e) => e.type === "content_block_start").map((e) => e.content_block.type)).toEqual(["text"])
    const res = await nexus.post("/v1/messages", request(LOCAL.vllm, adaptive("omitted", false)), HEADERS)
    expect(((await res.json()) as { content: { type: string }[] }).content.map((b) => b.type)).toEqual(["text"])
  })

  test("no thinking asked for: none shown, even from a model that thinks anyway", async () => {
    const res = await nexus.post("/v1/messages", request(LOCAL.llamacpp), HEADERS)
    expect(((await res.json()) as { content: { type: string }[] }).content.map((b) => b.type)).toEqual(["text"])
  })
})

describe("thinking blocks a client replays", () => {
  const replay = (model: string) =>
    request(model, {
      thinking: { type: "enabled", budget_tokens: 4096 },
      messages: [
        { role: "user", content: "What is the answer?" },
        { role: "assistant", content: [{ type: "thinking", thinking: "secret chain of thought", signature: "EqQBCkYIARgCIkDsig==" }, { type: "redacted_thinking", data: "EmwKAhgBEgy3va" }, { type: "text", text: "42" }] },
        { role: "user", content: "Why?" },
      ],
    })

  test("reach Anthropic byte for byte, signatures intact", async () => {
    const raw = JSON.stringify(replay("claude-opus-5-5"))
    expect((await nexus.post("/v1/messages", raw, HEADERS)).status).toBe(200)
    expect(emus.anthropic.stats.lastRequest!.body).toBe(raw)
  })

  test("are left out for a local model, not sent as text", async () => {
    expect((await nexus.post("/v1/messages", replay(LOCAL.vllm), HEADERS)).status).toBe(200)
    const body = emus.vllm.stats.bodies.at(-1)!
    for (const s of ["secret chain of thought", "EqQBCkYIARgCIkDsig==", "EmwKAhgBEgy3va"]) expect(body).not.toContain(s)
    expect((JSON.parse(body) as { messages: unknown[] }).messages).toEqual([
      { role: "user", content: "What is the answer?" },
      { role: "assistant", content: "42" },
      { role: "user", content: "Why?" },
    ])
  })
})

test("an Ollama client gets a local model's reasoning in its own form, message.thinking, before the answer", async () => {
  const res = await nexus.post("/api/chat", { model: LOCAL.vllm, messages: [{ role: "user", content: "What is the answer?" }] })
  const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l) as { message?: { thinking?: string; content?: string } })
  const thinking = lines.filter((l) => l.message?.thinking).map((l) => l.message!.thinking).join("")
  expect(thinking).toBe(REASONING)
  const firstText = lines.findIndex((l) => l.message?.content)
  expect(lines.slice(firstText).some((l) => l.message?.thinking)).toBe(false)
  expect(lines.map((l) => l.message?.content ?? "").join("")).toBe(REPLY)
})
