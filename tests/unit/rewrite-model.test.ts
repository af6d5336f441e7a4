import { describe, expect, test } from "bun:test"
import { findTopLevelString, rewriteModel } from "../../src/egress/transport/rewrite-model.ts"

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
