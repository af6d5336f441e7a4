import { describe, expect, test } from "bun:test"
import { findTopLevelString, rewriteModel } from "../../src/egress/transport/rewrite-model.ts"
import { findUsageInBytes } from "../../src/egress/transport/usage-bytes.ts"

describe("rewriteModel", () => {
  test("replaces only the top-level model and keeps every other byte", () => {
    const body = '{"temperature": 1.0, "model" : "gpt-4", "n":1e0,\n "extra":{"model":"inner"}}'
    expect(rewriteModel(body, "llama3.2:latest")).toBe(
      '{"temperature": 1.0, "model" : "llama3.2:latest", "n":1e0,\n "extra":{"model":"inner"}}'
    )
  })

  test("ignores a nested model that comes first", () => {
    const body = '{"metadata":{"model":"x"},"messages":[{"model":"y"}],"model":"real"}'
    expect(rewriteModel(body, "z")).toBe('{"metadata":{"model":"x"},"messages":[{"model":"y"}],"model":"z"}')
  })

  test("ignores the word model inside string values", () => {
    const body = '{"messages":[{"content":"\\"model\\": \\"no\\""}],"model":"yes"}'
    const out = rewriteModel(body, "new")
    expect(JSON.parse(out)).toEqual({ messages: [{ content: '"model": "no"' }], model: "new" })
  })

  test("escapes the new name as JSON", () => {
    expect(JSON.parse(rewriteModel('{"model":"a"}', 'we"ird\\name')).model).toBe('we"ird\\name')
  })

  test("a key that only looks like model at depth 1 after a value is still found", () => {
    const text = '{"a":"model","model":"m"}'
    const span = findTopLevelString(text, "model")!
    expect(text.slice(span.start, span.end)).toBe('"m"')
  })

  test("leaves a body without a string model unchanged", () => {
    expect(rewriteModel('{"model":3}', "x")).toBe('{"model":3}')
  })
})

describe("findUsage", () => {
  const { findUsage } = require("../../src/core/usage.ts") as typeof import("../../src/core/usage.ts")

  test("reads the top-level usage of an answer without parsing the rest", () => {
    const body = '{"id":"x","choices":[{"message":{"content":"the word \\"usage\\": {} in text"}}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}'
    expect(findUsage(body)).toEqual({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 })
  })

  test("a usage key with spaces, nested braces in strings, or none at all", () => {
    expect(findUsage('{"usage" : {"prompt_tokens": 1, "completion_tokens": 2, "note": "}{"}}')).toEqual({ prompt_tokens: 1, completion_tokens: 2, total_tokens: undefined })
    expect(findUsage('{"choices":[{"text":"usage"}]}')).toBeUndefined()
    expect(findUsage('{"usage":null}')).toBeUndefined()
    expect(findUsage("not json")).toBeUndefined()
    // A "usage" value at the very start once sent the search back to it forever.
    expect(findUsage('"usage"')).toBeUndefined()
    expect(findUsage('"usage"}]}')).toBeUndefined()
  })

  test("from bytes: the same answers, also when the last \"usage\" is a value after the key", () => {
    const bytes = (s: string) => new TextEncoder().encode(s)
    expect(findUsageInBytes(bytes('{"id":"é","usage":{"prompt_tokens":5,"completion_tokens":7}}'))).toEqual({ prompt_tokens: 5, completion_tokens: 7, total_tokens: undefined })
    expect(findUsageInBytes(bytes('{"usage":{"prompt_tokens":2},"choices":[{"text":"x","finish_reason":"usage"}]}'))).toEqual({ prompt_tokens: 2, completion_tokens: undefined, total_tokens: undefined })
    expect(findUsageInBytes(bytes('{"choices":[{"text":"usage"}]}'))).toBeUndefined()
    expect(findUsageInBytes(bytes("{}"))).toBeUndefined()
    // A view into a larger buffer reads only its own bytes.
    const big = bytes('xx{"usage":{"prompt_tokens":9}}yy')
    expect(findUsageInBytes(big.subarray(2, big.length - 2))).toEqual({ prompt_tokens: 9, completion_tokens: undefined, total_tokens: undefined })
  })
})

describe("rewriteNumber", () => {
  test("replaces only the first listed top-level number, every other byte untouched", async () => {
    const { rewriteNumber } = await import("../../src/egress/transport/rewrite-model.ts")
    const raw = '{"options":{"max_tokens":5},"max_tokens": 32000 ,"x":1.50}'
    expect(rewriteNumber(raw, ["max_completion_tokens", "max_tokens"], 7000)).toBe('{"options":{"max_tokens":5},"max_tokens": 7000 ,"x":1.50}')
    expect(rewriteNumber(raw, ["nope"], 1)).toBe(raw)
  })
})
