/**
 * An Anthropic Messages API answer (not streamed) read back as an OpenAI chat completion:
 * text blocks joined into `content`, `tool_use` blocks as `tool_calls`, the stop reason
 * mapped, and usage counted the way OpenAI counts it (cached input included in prompt).
 * @module
 */
import { finishReason, openaiUsage } from "../../core/anthropic-usage.ts"
import { isObject } from "./http.ts"

export function toChatCompletion(msg: Record<string, unknown>, model: string): Record<string, unknown> {
  const blocks = Array.isArray(msg.content) ? msg.content.filter(isObject) : []
  const text = blocks.filter((b) => b.type === "text").map((b) => String(b.text ?? "")).join("")
  const calls = blocks
    .filter((b) => b.type === "tool_use")
    .map((b) => ({ id: b.id, type: "function", function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } }))
  const message: Record<string, unknown> = { role: "assistant", content: calls.length && !text ? null : text }
  if (calls.length) message.tool_calls = calls
  return {
    id: typeof msg.id === "string" ? msg.id : `msg_${Date.now()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: typeof msg.model === "string" ? msg.model : model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(msg.stop_reason) ?? "stop" }],
    usage: openaiUsage(msg.usage),
  }
}

/** The whole answer as an OpenAI response, with its length (so cost is known before it is sent). */
export async function translateWhole(res: Response, model: string): Promise<Response> {
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  const out = isObject(body) ? JSON.stringify(toChatCompletion(body, model)) : text
  const headers = new Headers(res.headers)
  headers.set("content-type", "application/json")
  headers.set("content-length", String(new TextEncoder().encode(out).byteLength))
  headers.delete("content-encoding")
  return new Response(out, { status: res.status, headers })
}
