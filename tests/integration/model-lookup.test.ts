/**
 * Model lists and lookups tell the truth: a glob alias is a pattern, never a listed model,
 * and `GET /v1/models/{id}` answers every name a request could use (an id, its `:latest`
 * spelling, an exact alias, any name a glob alias matches), in the Anthropic shape when the
 * client is an Anthropic one, as the list does. Checked with the SDKs' own `retrieve`.
 */
import Anthropic from "@anthropic-ai/sdk"
import { afterAll, beforeAll, expect, test } from "bun:test"
import fc from "fast-check"
import OpenAI from "openai"
import { startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"

let nexus: TestNexus
let ollama: Emulator
let vllm: Emulator

beforeAll(async () => {
  ollama = await startOllama({ models: ["llama3.2:latest"] })
  vllm = await startVllm({ models: [{ id: "qwen3-coder", contextLength: 65536 }] })
  nexus = await startNexus({
    routing: { aliases: { "claude-*": "qwen3-coder", "gpt-5*": "qwen3-coder", fast: "llama3.2" } },
    backends: [backend("ollama", ollama.url, "ollama"), backend("vllm", vllm.url, "vllm")],
  })
})

afterAll(async () => {
  await nexus.stop(0)
  await Promise.all([ollama.stop(), vllm.stop()])
})

test("the list has models and exact aliases, never a glob", async () => {
  const openai = new OpenAI({ baseURL: `${nexus.url}/v1`, apiKey: "x" })
  const ids = (await openai.models.list()).data.map((m) => m.id)
  expect(ids.sort()).toEqual(["fast", "llama3.2:latest", "qwen3-coder"])
  const anthropic = new Anthropic({ baseURL: nexus.url, apiKey: "x" })
  const aIds = (await anthropic.models.list()).data.map((m) => m.id)
  expect(aIds.sort()).toEqual(["fast", "llama3.2:latest", "qwen3-coder"])
})

test("retrieve answers every routable name, and 404s a name no request could use", async () => {
  const openai = new OpenAI({ baseURL: `${nexus.url}/v1`, apiKey: "x" })
  expect((await openai.models.retrieve("llama3.2")).id).toBe("llama3.2:latest")
  const viaGlob = (await openai.models.retrieve("claude-sonnet-5-5")) as unknown as { id: string; alias_of: string; context_length: number }
  expect(viaGlob).toMatchObject({ id: "claude-sonnet-5-5", alias_of: "qwen3-coder", context_length: 65536 })
  expect(((await openai.models.retrieve("fast")) as unknown as { alias_of: string }).alias_of).toBe("llama3.2:latest")
  const err = await openai.models.retrieve("no-such-model").catch((e) => e)
  expect(err).toBeInstanceOf(OpenAI.NotFoundError)
})

test("with anthropic-version, retrieve answers in Anthropic's shape, errors too", async () => {
  const anthropic = new Anthropic({ baseURL: nexus.url, apiKey: "x" })
  const m = await anthropic.models.retrieve("claude-opus-5-5")
  expect(m).toMatchObject({ type: "model", id: "claude-opus-5-5" })
  expect(typeof m.display_name).toBe("string")
  expect(Number.isNaN(Date.parse(m.created_at))).toBe(false)
  const err = await anthropic.models.retrieve("no-such-model").catch((e) => e)
  expect(err).toBeInstanceOf(Anthropic.NotFoundError)
  expect(err.error?.type).toBe("error")
  expect(err.error?.error?.type).toBe("not_found_error")
})

test("property: whatever a chat request can route, retrieve finds; whatever retrieve 404s, chat 404s", async () => {
  const names = fc.oneof(
    fc.constantFrom("llama3.2", "llama3.2:latest", "qwen3-coder", "qwen3-coder:latest", "fast", "claude-", "gpt-5", "gpt-4o", "claude"),
    fc.tuple(fc.constantFrom("claude-", "gpt-5", "llama", "qwen3-coder:", ""), fc.stringMatching(/^[a-z0-9.-]{0,12}$/)).map(([a, b]) => a + b)
  )
  await fc.assert(
    fc.asyncProperty(names, async (name) => {
      const found = await fetch(`${nexus.url}/v1/models/${encodeURIComponent(name)}`)
      const chat = await nexus.post("/v1/chat/completions", { model: name, messages: [{ role: "user", content: "hi" }] })
      await found.arrayBuffer()
      await chat.arrayBuffer()
      expect(found.status === 200).toBe(chat.status === 200)
    }),
    { numRuns: 200 }
  )
})
