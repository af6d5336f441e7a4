/**
 * A canonical (OpenAI) answer as an Anthropic `message`, or as the event sequence the
 * Anthropic SDKs expect: message_start, content_block_start, ping, content_block_delta
 * (text_delta, input_json_delta), content_block_stop per block, message_delta (stop
 * reason and usage), message_stop. Text and each tool call are separate blocks.
 * @module
 */
import { eventStreamHeaders } from "../../core/frames.ts"
import { stopReason, toAnthropicInput } from "../../core/anthropic-usage.ts"
import type { Usage } from "../../core/usage.ts"
import { asResponse, encodedHeaders, parseArgs, renderStream, translator, wholeResponse, type Answer, type AnswerEvent, type CanonicalAnswer } from "../answer.ts"
import type { StreamTranslator } from "../../core/stream-translator.ts"
import type { EncodeContext } from "../types.ts"
import { anthropicErrorEvent } from "./errors.ts"

export { stopReason }

const messageId = () => `msg_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`

/**
 * OpenAI usage in Anthropic's terms: `input_tokens` leaves out what the prompt cache
 * served, which goes in `cache_read_input_tokens`. Without a count from the backend, the
 * prompt's estimate stands in: Claude Code sizes its context from these, and 0 misleads it.
 */
function inputUsage(u: Usage | undefined, cached: number | undefined, estimate: number): Record<string, number> {
  const prompt = u?.prompt_tokens ?? estimate
  return cached === undefined ? { input_tokens: prompt } : toAnthropicInput(prompt, cached)
}

/** The prompt's size before the backend has counted it: the estimate, never 0. */
const estimateOf = (promptTokens: number | undefined) => Math.max(1, promptTokens ?? 1)

function usageOf(a: Answer, estimate: number) {
  const input = inputUsage(a.usage, a.cached, estimate)
  return { input_tokens: input.input_tokens, output_tokens: a.usage?.completion_tokens ?? 0, cache_creation_input_tokens: 0, cache_read_input_tokens: input.cache_read_input_tokens ?? 0 }
}

/** A whole answer as an Anthropic message. */
function toMessage(a: Answer, model: string, promptTokens?: number, showReasoning = false): Record<string, unknown> {
  const content: Record<string, unknown>[] = []
  if (showReasoning && a.reasoning) content.push({ type: "thinking", thinking: a.reasoning, signature: "" })
  if (a.text) content.push({ type: "text", text: a.text })
  for (const t of a.tools) content.push({ type: "tool_use", id: t.id, name: t.name, input: parseArgs(t.arguments) })
  // A server that called tools but said "stop" (some llama.cpp builds) still asks for tool use.
  const finish = a.tools.length && a.finish === "stop" ? "tool_calls" : a.finish
  return {
    id: messageId(),
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: stopReason(finish, a.stopSequence),
    stop_sequence: finish === "stop" && a.stopSequence ? a.stopSequence : null,
    usage: usageOf(a, estimateOf(promptTokens)),
  }
}

type Kind = "text" | "tool" | "thinking"

const event = (name: string, data: Record<string, unknown>) => `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`

/** The stream's state machine: one open block at a time, indexes in order of appearance. */
export function anthropicStreamRenderer(model: string, promptTokens?: number, showReasoning = false) {
  // The first event comes before the backend has counted anything.
  const estimate = estimateOf(promptTokens)
  let open: { index: number; kind: Kind; tool?: number } | undefined
  let next = 0
  let pinged = false
  let finish: string | null = null
  let stopSequence: string | undefined
  let usage: Usage | undefined
  let cached: number | undefined
  let sawTool = false
  let failed = false

  const close = () => {
    if (!open) return ""
    const out = event("content_block_stop", { index: open.index })
    open = undefined
    return out
  }
  const start = (block: Record<string, unknown>, kind: Kind, tool?: number) => {
    let out = close()
    open = { index: next++, kind, tool }
    out += event("content_block_start", { index: open.index, content_block: block })
    if (!pinged) {
      pinged = true
      out += event("ping", {})
    }
    return out
  }

  return {
    start: () =>
      event("message_start", {
        message: { id: messageId(), type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: estimate, output_tokens: 0 } },
      }),
    event(ev: AnswerEvent): string {
      if (failed) return ""
      switch (ev.type) {
        case "text": {
          const head = open?.kind === "text" ? "" : start({ type: "text", text: "" }, "text")
          return head + event("content_block_delta", { index: open!.index, delta: { type: "text_delta", text: ev.text } })
        }
        case "reasoning": {
          // A local model's reasoning has no signature: the block carries an empty one.
          if (!showReasoning) return ""
          const head = open?.kind === "thinking" ? "" : start({ type: "thinking", thinking: "", signature: "" }, "thinking")
          return head + event("content_block_delta", { index: open!.index, delta: { type: "thinking_delta", thinking: ev.text } })
        }
        case "tool":
          sawTool = true
          return start({ type: "tool_use", id: ev.id, name: ev.name, input: {} }, "tool", ev.index)
        case "tool_args":
          // Fragments belong to the open tool block (servers stream calls one after another).
          if (open?.kind !== "tool" || open.tool !== ev.index) return ""
          return event("content_block_delta", { index: open.index, delta: { type: "input_json_delta", partial_json: ev.fragment } })
        case "finish":
          finish = ev.reason
          stopSequence = ev.stopSequence
          return ""
        case "usage":
          usage = ev.usage
          cached = ev.cached
          return ""
        case "error":
          failed = true
          return close() + anthropicErrorEvent(ev.message)
        case "keepalive":
          // Claude Code's stream-idle timer is reset by pings.
          return event("ping", {})
      }
    },
    end(): string {
      if (failed) return ""
      let out = close()
      if (!pinged) out += event("ping", {})
      const reason = sawTool && (finish === "stop" || finish === null) ? "tool_calls" : finish
      out += event("message_delta", {
        delta: { stop_reason: stopReason(reason, stopSequence), stop_sequence: reason === "stop" && stopSequence ? stopSequence : null },
        usage: { ...inputUsage(usage, cached, estimate), output_tokens: usage?.completion_tokens ?? 0 },
      })
      return out + event("message_stop", {})
    },
  }
}

/** A canonical stream rendered as Anthropic's events while it is relayed. */
export function translateMessages(ctx: Pick<EncodeContext, "model" | "promptTokens" | "showReasoning">): StreamTranslator {
  return translator(anthropicStreamRenderer(ctx.model, ctx.promptTokens, ctx.showReasoning), eventStreamHeaders())
}

export function encodeMessages(answer: CanonicalAnswer, ctx: Pick<EncodeContext, "stream" | "model" | "promptTokens" | "showReasoning" | "headers">): Response {
  if (ctx.stream) {
    const headers = encodedHeaders(eventStreamHeaders(), ctx.headers)
    return new Response(renderStream(asResponse(answer), anthropicStreamRenderer(ctx.model, ctx.promptTokens, ctx.showReasoning)), { status: 200, headers })
  }
  const render = (a: Answer) => (a.error ? { type: "error", error: { type: "api_error", message: a.error } } : toMessage(a, ctx.model, ctx.promptTokens, ctx.showReasoning))
  return wholeResponse(answer, render, encodedHeaders({ "content-type": "application/json" }, ctx.headers))
}
