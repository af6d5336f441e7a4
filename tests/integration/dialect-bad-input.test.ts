/**
 * Bad input on the Anthropic, Ollama and Responses routes: always a 4xx in the route's
 * own error shape, never a 500, never a hang; fast-check adds arbitrary JSON on top.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import fc from "fast-check"
import { expectAlive, expectNoErrorLogs, MODEL, startTarget, type Target } from "../helpers/bad-input.ts"

let target: Target

beforeAll(async () => {
  target = await startTarget()
})

afterAll(async () => {
  await target.stop()
})

type Shape = (body: unknown) => boolean
const anthropic: Shape = (b) => (b as { type?: string }).type === "error" && typeof (b as { error?: { type?: unknown } }).error?.type === "string"
const ollama: Shape = (b) => typeof (b as { error?: unknown }).error === "string"
const openai: Shape = (b) => typeof (b as { error?: { message?: unknown } }).error?.message === "string"

const ROUTES: [string, Shape, unknown[]][] = [
  [
    "/v1/messages",
    anthropic,
    [
      {},
      { model: MODEL },
      { model: MODEL, max_tokens: 10 },
      { model: MODEL, max_tokens: -1, messages: [{ role: "user", content: "x" }] },
      { model: MODEL, max_tokens: 10, messages: [{ role: "system", content: "x" }] },
      { model: MODEL, max_tokens: 10, messages: [{ role: "user", content: 5 }] },
      { model: MODEL, max_tokens: 10, messages: [{ role: "user", content: [null, 3] }] },
      { model: MODEL, max_tokens: 10, messages: [{ role: "user", content: [{ type: "image", source: { data: "x" } }] }] },
      { model: MODEL, max_tokens: 10, system: 7, messages: [{ role: "user", content: "x" }] },
      { model: MODEL, max_tokens: 10, tools: "x", messages: [{ role: "user", content: "x" }] },
      { model: MODEL, max_tokens: 10, tools: [{ name: "t", input_schema: {} }], tool_choice: { type: "weird" }, messages: [{ role: "user", content: "x" }] },
      [],
      "null",
      "{",
    ],
  ],
  ["/v1/messages/count_tokens", anthropic, [{}, { model: MODEL }, { model: MODEL, messages: "x" }, "[]", "{"]],
  [
    "/api/chat",
    ollama,
    [{}, { model: "" }, { model: MODEL, messages: "x" }, { model: MODEL, messages: [null] }, { model: MODEL, messages: [{ role: "user", images: "x" }] }, "[]", "{"],
  ],
  ["/api/generate", ollama, [{}, { model: MODEL, prompt: 5 }, { model: MODEL, images: 5 }, "{"]],
  ["/api/embed", ollama, [{}, { model: MODEL }, { model: MODEL, input: [1, 2] }, "{"]],
  ["/api/embeddings", ollama, [{}, { model: MODEL, prompt: ["x"] }, "{"]],
  ["/api/show", ollama, [{}, { model: 5 }, { model: "nope" }, "{"]],
  [
    "/v1/responses",
    openai,
    [{}, { model: MODEL }, { model: MODEL, input: 5 }, { model: MODEL, input: [null] }, { model: MODEL, input: [{ role: "tool", content: "x" }] }, { model: MODEL, input: [{ role: "user", content: [{ type: "input_image" }] }] }, { model: MODEL, input: "x", previous_response_id: 5 }, { model: MODEL, input: "x", conversation: "conv_1" }, "{"],
  ],
]

describe("bad input on the other dialects' routes", () => {
  for (const [path, shape, bodies] of ROUTES) {
    test(`${path}: a 4xx in its own shape`, async () => {
      for (const body of bodies) {
        const res = await target.nexus.post(path, body)
        const text = await res.text()
        if (res.status < 400 || res.status >= 500) throw new Error(`${path} ${JSON.stringify(body)} -> ${res.status} ${text}`)
        expect(shape(JSON.parse(text))).toBe(true)
      }
    })
  }

  test("arbitrary JSON never makes a 500", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES.map((r) => r[0])), fc.jsonValue(), async (path, body) => {
        const res = await target.nexus.post(path, JSON.stringify(body))
        await res.text()
        return res.status < 500
      }),
      { numRuns: 150 }
    )
    await expectAlive(target.nexus)
    expectNoErrorLogs(target.nexus)
  })
})
