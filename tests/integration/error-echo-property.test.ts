/**
 * Error messages that echo what the client sent (the model it asked for): whatever the
 * name holds (quotes, markup, line breaks, NUL, terminal escapes, lone surrogates), the
 * answer is the client's own dialect's error document, and the name in its message
 * reads back as sent, never breaking the document or the status line.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import fc from "fast-check"
import { startOllama, type Emulator } from "../../emulators/index.ts"
import { hostileString } from "../helpers/hostile.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"

let home: Emulator
let n: TestNexus

beforeAll(async () => {
  home = await startOllama({ models: ["llama3.2:latest"] })
  n = await startNexus({ backends: [backend("home", home.url, "ollama")] })
})

afterAll(async () => {
  await n.stop(0)
  await home.stop()
})

/** Each dialect's chat route, and where its error document keeps the message. */
const DIALECTS = {
  openai: { path: "/v1/chat/completions", body: (m: string) => ({ model: m, messages: [{ role: "user", content: "hi" }] }), message: (b: any) => b.error?.type && b.error?.message },
  responses: { path: "/v1/responses", body: (m: string) => ({ model: m, input: "hi" }), message: (b: any) => b.error?.type && b.error?.message },
  anthropic: { path: "/v1/messages", body: (m: string) => ({ model: m, max_tokens: 8, messages: [{ role: "user", content: "hi" }] }), message: (b: any) => b.type === "error" && b.error?.message },
  ollama: { path: "/api/chat", body: (m: string) => ({ model: m, messages: [{ role: "user", content: "hi" }], stream: false }), message: (b: any) => typeof b.error === "string" && b.error },
} as const

test("any unknown model name, in every dialect: a 4xx in that dialect's shape whose message quotes the name as sent", async () => {
  // A name JSON can carry as sent: lone surrogates become U+FFFD on the way in (UTF-8).
  const names = hostileString().map((s) => Buffer.from(s).toString()).filter((s) => s.trim() !== "" && s.trim() === s)
  await fc.assert(
    fc.asyncProperty(names, fc.constantFrom(...(Object.keys(DIALECTS) as (keyof typeof DIALECTS)[])), async (name, dialect) => {
      const d = DIALECTS[dialect]
      const res = await n.post(d.path, d.body(name))
      const text = await res.text()
      expect({ dialect, status: res.status }).toEqual({ dialect, status: 404 })
      expect(res.headers.get("content-type")).toContain("application/json")
      const message = d.message(JSON.parse(text))
      expect(typeof message).toBe("string")
      expect({ dialect, quoted: (message as string).includes(name) }).toEqual({ dialect, quoted: true })
    }),
    { numRuns: 300 }
  )
  expect(n.inFlight()).toBe(0)
})
