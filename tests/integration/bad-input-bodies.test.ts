/**
 * Bad request bodies against every route that reads JSON: malformed JSON, the wrong
 * top-level type, 10k-deep nesting, bytes that are not UTF-8. Each route answers 400 in
 * the OpenAI envelope, and Nexus logs none of it as an error.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { expectAlive, expectEnvelope, expectNoErrorLogs, JSON_ROUTES, MODEL, startTarget, type Target } from "../helpers/bad-input.ts"

let target: Target

beforeAll(async () => {
  target = await startTarget()
})

afterAll(async () => {
  await target.stop()
})

const deep = (n: number) => "[".repeat(n) + "]".repeat(n)
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))))

interface BodyCase {
  name: string
  body: string | Uint8Array
  /** What the message must say, beyond being ours. */
  says: RegExp
}

const BODIES: BodyCase[] = [
  { name: "malformed JSON (cut off)", body: `{"model": "${MODEL}", "messages": [`, says: /not valid JSON/ },
  { name: "trailing garbage", body: `{"model": "${MODEL}"} and more`, says: /not valid JSON/ },
  { name: "single-quoted keys", body: `{'model': '${MODEL}'}`, says: /not valid JSON/ },
  { name: "NaN literal", body: `{"model": NaN}`, says: /not valid JSON/ },
  { name: "empty body", body: "", says: /empty/ },
  { name: "only whitespace", body: " \n\t ", says: /empty/ },
  { name: "top-level array", body: `[{"model": "${MODEL}"}]`, says: /JSON object, not an array/ },
  { name: "top-level string", body: `"hello"`, says: /JSON object, not a string/ },
  { name: "top-level null", body: "null", says: /JSON object, not null/ },
  { name: "top-level number", body: "42", says: /JSON object, not a number/ },
  { name: "top-level boolean", body: "true", says: /JSON object, not a boolean/ },
  { name: "10k-deep array", body: deep(10_000), says: /JSON object, not an array/ },
  { name: "10k-deep array as the model", body: `{"model": ${deep(10_000)}, "url": 1}`, says: /`(model|url)`|^url: / },
  { name: "50k-deep unclosed array", body: "[".repeat(50_000), says: /not valid JSON/ },
  { name: "invalid UTF-8 (0xFF 0xFE)", body: bytes(`{"model": "`, [0xff, 0xfe], `"}`), says: /UTF-8/ },
  { name: "UTF-8 encoded surrogate (CESU)", body: bytes(`{"model": "`, [0xed, 0xa0, 0x80], `"}`), says: /UTF-8/ },
  { name: "overlong UTF-8 slash", body: bytes(`{"model": "`, [0xc0, 0xaf], `"}`), says: /UTF-8/ },
  { name: "truncated UTF-8 sequence", body: bytes(`{"model": "`, [0xe2, 0x82], `"}`), says: /UTF-8/ },
  { name: "UTF-16LE JSON", body: Buffer.from(`{"model": "${MODEL}"}`, "utf16le"), says: /not valid JSON/ },
]

describe.each(JSON_ROUTES)("POST %s", (path) => {
  test.each(BODIES)("$name is a 400 in the OpenAI envelope", async ({ body, says }) => {
    const res = await fetch(`${target.nexus.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    })
    const { error } = expectEnvelope(res.status, await res.text(), 400)
    expect(error.message).toMatch(says)
    expect(error.type).toBe("invalid_request_error")
  })
})

test("none of it was logged as an error, and Nexus still serves", async () => {
  expectNoErrorLogs(target.nexus)
  await expectAlive(target.nexus)
})
