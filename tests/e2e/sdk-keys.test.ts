/**
 * Client API keys as the real SDKs send them: the OpenAI SDK's `apiKey` (Bearer), the
 * Anthropic SDK's `apiKey` (x-api-key) and ollama-js with an Authorization header. Each
 * raises its own error class for a bad key (401), a model the key may not use (403) and a
 * rate limit (429, whose x-ratelimit-* headers the OpenAI SDK exposes).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import Anthropic from "@anthropic-ai/sdk"
import OpenAI from "openai"
import { Ollama } from "ollama"
import { startOllama, type Emulator } from "../../emulators/index.ts"
import { createKey, type IssuedKey } from "../helpers/keys.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"

let home: Emulator
let n: TestNexus
let key: IssuedKey
let limited: IssuedKey
beforeAll(async () => {
  home = await startOllama({ models: ["llama3.2:latest", "secret-model:latest"] })
  n = await startNexus({ auth: { required: true }, backends: [backend("home", home.url, "ollama")] })
  key = await createKey(n, { name: "sdk", models: ["llama*"] })
  limited = await createKey(n, { name: "ci", rpm: 3 })
})
afterAll(async () => {
  await n.stop(0)
  await home.stop()
})

const ask = [{ role: "user" as const, content: "hi" }]
/** What a call failed with (the SDKs' promises are their own classes: awaited, not matched). */
const failure = (call: PromiseLike<unknown>) => Promise.resolve(call).then(() => undefined, (err: unknown) => err)

describe("client SDKs with a Nexus key", () => {
  test("each SDK is served with its key, and raises its own class for a bad key and a forbidden model", async () => {
    const openai = new OpenAI({ baseURL: `${n.url}/v1`, apiKey: key.secret, maxRetries: 0 })
    const anthropic = new Anthropic({ baseURL: n.url, apiKey: key.secret, maxRetries: 0 })
    const ollama = new Ollama({ host: n.url, headers: { authorization: `Bearer ${key.secret}` } })
    expect((await openai.chat.completions.create({ model: "llama3.2", messages: ask })).choices[0]!.message.content).toBeString()
    expect((await anthropic.messages.create({ model: "llama3.2", max_tokens: 16, messages: ask })).content[0]!.type).toBe("text")

    const wrong = "nx-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    expect(await failure(new OpenAI({ baseURL: `${n.url}/v1`, apiKey: wrong, maxRetries: 0 }).chat.completions.create({ model: "llama3.2", messages: ask }))).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(await failure(new Anthropic({ baseURL: n.url, apiKey: wrong, maxRetries: 0 }).messages.create({ model: "llama3.2", max_tokens: 8, messages: ask }))).toBeInstanceOf(Anthropic.AuthenticationError)
    expect(await failure(openai.chat.completions.create({ model: "secret-model", messages: ask }))).toBeInstanceOf(OpenAI.PermissionDeniedError)
    expect(await failure(anthropic.messages.create({ model: "secret-model", max_tokens: 8, messages: ask }))).toBeInstanceOf(Anthropic.PermissionDeniedError)
    const refused = await ollama.chat({ model: "secret-model", messages: ask }).catch((e: { status_code?: number; error?: string }) => e)
    expect(refused).toMatchObject({ status_code: 403 })
    expect(String((refused as { error?: string }).error)).toContain("may not use model")
  })

  test("a rate limit is the OpenAI SDK's RateLimitError, with the headers it reads", async () => {
    const openai = new OpenAI({ baseURL: `${n.url}/v1`, apiKey: limited.secret, maxRetries: 0 })
    let err: unknown
    for (let i = 0; i < 5 && !err; i++) await openai.chat.completions.create({ model: "llama3.2", messages: ask }).catch((e) => (err = e))
    expect(err).toBeInstanceOf(OpenAI.RateLimitError)
    const headers = (err as InstanceType<typeof OpenAI.RateLimitError>).headers
    expect(headers.get("x-ratelimit-limit-requests")).toBe("3")
    expect(headers.get("x-ratelimit-remaining-requests")).toBe("0")
    expect(Number(headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
  })
})
