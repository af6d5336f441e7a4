/**
 * A prompt over the chosen model's window is refused before it reaches the backend, in the
 * words of the client's own API (so an agent compacts as it does against the real one).
 * The estimate errs on the large side; before a refusal is final, a backend with the
 * model's own tokenizer (vLLM and llama.cpp `/tokenize`) counts the prompt exactly.
 */
import Anthropic from "@anthropic-ai/sdk"
import { describe, expect, test } from "bun:test"
import OpenAI from "openai"
import { startOllama, startVllm } from "../../emulators/index.ts"
import { backend } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"

const scope = testScope()
const WINDOW = 1000
const say = (chars: number) => [{ role: "user" as const, content: "x".repeat(chars) }]

describe("a vLLM with its tokenizer", () => {
  async function setup() {
    const vllm = await scope.emulator(startVllm({ models: [{ id: "coder", contextLength: WINDOW }] }))
    const n = await scope.nexus({ backends: [backend("gpu", vllm.url, "vllm")] })
    return { vllm, n }
  }

  test("a prompt the estimate thinks too long but that fits by the server's own count is served", async () => {
    const { vllm, n } = await setup()
    // 900 tokens by the server's count; the estimate, a third larger, is over the window.
    const res = await n.post("/v1/chat/completions", { model: "coder", messages: say(3600) })
    expect(res.status).toBe(200)
    expect(vllm.stats.byPath["/tokenize"]).toBe(1)
    expect(vllm.stats.byPath["/v1/chat/completions"]).toBe(1)
  })

  test("a short prompt is never counted: the estimate alone lets it through", async () => {
    const { vllm, n } = await setup()
    const res = await n.post("/v1/chat/completions", { model: "coder", messages: say(400) })
    expect(res.status).toBe(200)
    expect(vllm.stats.byPath["/tokenize"] ?? 0).toBe(0)
  })

  test("a prompt over the window by the exact count: Anthropic's exact sentence, with the exact size", async () => {
    const { vllm, n } = await setup()
    const client = new Anthropic({ baseURL: n.url, apiKey: "x", maxRetries: 0 })
    const err = await client.messages.create({ model: "coder", max_tokens: 100, messages: say(4400) }).catch((e) => e)
    expect(err).toBeInstanceOf(Anthropic.BadRequestError)
    expect(err.error.error.message).toBe(`prompt is too long: ${1100 + 100} tokens > ${WINDOW} maximum`)
    expect(vllm.stats.byPath["/v1/chat/completions"] ?? 0).toBe(0)
  })

  test("the same for an OpenAI client: context_length_exceeded, OpenAI's sentence", async () => {
    const { vllm, n } = await setup()
    const client = new OpenAI({ baseURL: `${n.url}/v1`, apiKey: "x", maxRetries: 0 })
    const err = await client.chat.completions.create({ model: "coder", messages: say(4400) }).catch((e) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.code).toBe("context_length_exceeded")
    expect(err.message).toContain(`maximum context length is ${WINDOW} tokens. However, your messages resulted in ~1100 tokens.`)
    expect(vllm.stats.byPath["/v1/chat/completions"] ?? 0).toBe(0)
  })
})

test("a server without a tokenizer (Ollama): the conservative estimate decides", async () => {
  const ollama = await scope.emulator(startOllama({ models: [{ id: "small:latest", contextLength: WINDOW }] as never }))
  const n = await scope.nexus({ backends: [backend("ollama", ollama.url, "ollama")] })
  // 900 tokens at four characters a token would fit; judged a third larger, it does not.
  const res = await n.post("/v1/chat/completions", { model: "small", messages: say(3600) })
  expect(res.status).toBe(400)
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe("context_length_exceeded")
  expect(ollama.stats.byPath["/v1/chat/completions"] ?? 0).toBe(0)
})
