/**
 * Chat Completions -> Messages API and back, on the shapes that matter: roles, merged
 * turns, tool calls and results, stop reasons and usage; and prices by glob.
 */
import { describe, expect, test } from "bun:test"
import { toMessagesRequest } from "../../src/egress/providers/anthropic-request.ts"
import { finishReason, openaiUsage } from "../../src/core/anthropic-usage.ts"
import { toChatCompletion } from "../../src/egress/providers/anthropic-response.ts"
import { costOf, priceOf } from "../../src/core/pricing.ts"
import { toAnthropicInput } from "../../src/core/anthropic-usage.ts"

const req = (body: Record<string, unknown>) => JSON.parse(toMessagesRequest(body, "claude-x", "chat").body)

describe("request", () => {
  test("system and developer lifted, max_tokens kept or supplied, stop sequences, tool_choice variants", () => {
    const out = req({ messages: [{ role: "developer", content: "A" }, { role: "system", content: [{ type: "text", text: "B" }] }, { role: "user", content: "hi" }], max_tokens: 77, stop: "END", tools: [{ type: "function", function: { name: "f" } }], tool_choice: { type: "function", function: { name: "f" } }, parallel_tool_calls: false })
    expect(out.system).toBe("A\n\nB")
    expect(out.max_tokens).toBe(77)
    expect(out.stop_sequences).toEqual(["END"])
    expect(out.tools).toEqual([{ name: "f", input_schema: { type: "object", properties: {} } }])
    expect(out.tool_choice).toEqual({ type: "tool", name: "f", disable_parallel_tool_use: true })
    expect(req({ messages: [{ role: "user", content: "x" }], max_completion_tokens: 5 }).max_tokens).toBe(5)
  })

  test("consecutive tool results merge into one user turn; image URLs stay URLs", () => {
    const out = req({
      messages: [
        { role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }] },
        { role: "assistant", content: "let me", tool_calls: [{ id: "a", type: "function", function: { name: "f", arguments: "{}" } }, { id: "b", type: "function", function: { name: "g", arguments: "not json" } }] },
        { role: "tool", tool_call_id: "a", content: "1" },
        { role: "tool", tool_call_id: "b", content: "2" },
      ],
    })
    expect(out.messages[0].content[0]).toEqual({ type: "image", source: { type: "url", url: "https://x/y.png" } })
    expect(out.messages[1].content.map((b: { type: string }) => b.type)).toEqual(["text", "tool_use", "tool_use"])
    expect(out.messages[1].content[2].input).toEqual({ arguments: "not json" })
    expect(out.messages[2]).toEqual({ role: "user", content: [{ type: "tool_result", tool_use_id: "a", content: "1" }, { type: "tool_result", tool_use_id: "b", content: "2" }] })
  })

  test("only chat: embeddings are refused with a 400", () => {
    expect(() => toMessagesRequest({}, "claude-x", "embeddings")).toThrow(/chat completions only/)
  })
})

describe("response", () => {
  test("stop reasons and usage with cache tokens", () => {
    expect(["end_turn", "max_tokens", "tool_use", "stop_sequence", "refusal"].map(finishReason)).toEqual(["stop", "length", "tool_calls", "stop", "content_filter"])
    expect(openaiUsage({ input_tokens: 10, cache_read_input_tokens: 5, output_tokens: 3 })).toEqual({ prompt_tokens: 15, completion_tokens: 3, total_tokens: 18 })
    // The other way: what the cache served comes out of input_tokens, never more than the prompt.
    expect(toAnthropicInput(15, 5)).toEqual({ input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 5 })
    expect(toAnthropicInput(15, 40)).toEqual({ input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 15 })
    const c = toChatCompletion({ id: "msg_1", model: "claude-x", content: [{ type: "text", text: "a" }, { type: "tool_use", id: "t", name: "f", input: { x: 1 } }], stop_reason: "tool_use", usage: { input_tokens: 1, output_tokens: 2 } }, "claude-x")
    expect(c.choices).toEqual([{ index: 0, logprobs: null, finish_reason: "tool_calls", message: { role: "assistant", content: "a", tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: '{"x":1}' } }] } }])
  })
})

describe("prices", () => {
  test("most specific built-in glob wins; overrides first; unknown models have no price", () => {
    expect(priceOf("gpt-4o-mini-2024-07-18")).toEqual({ input_per_million: 0.15, output_per_million: 0.6 })
    expect(priceOf("gpt-4o-2024-08-06")).toEqual({ input_per_million: 2.5, output_per_million: 10 })
    expect(priceOf("models/gemini-2.5-flash")?.input_per_million).toBe(0.3)
    expect(priceOf("gpt-4o", { "gpt-4*": { input_per_million: 1, output_per_million: 1 } })).toEqual({ input_per_million: 1, output_per_million: 1 })
    expect(priceOf("llama3:70b")).toBeUndefined()
    expect(costOf({ prompt_tokens: 1_000_000, completion_tokens: 500_000 }, { input_per_million: 3, output_per_million: 15 })).toBe(10.5)
  })
})
