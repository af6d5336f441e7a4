/**
 * A canonical (OpenAI Chat) answer as a Responses API `response`, or as its semantic
 * stream: response.created, response.in_progress, then per output item
 * output_item.added, (content_part.added, output_text.delta…, output_text.done,
 * content_part.done | function_call_arguments.delta…, .done | the reasoning's parts and
 * deltas, reasoning.ts), output_item.done, and finally response.completed (or
 * response.incomplete when the output was cut short). A finished response is kept when
 * the request asked for it (conversation.ts).
 * @module
 */
import { eventStreamHeaders } from "../../core/frames.ts"
import type { Usage } from "../../core/usage.ts"
import { incompleteReason, responseStatus, toResponsesUsage } from "../../core/responses-usage.ts"
import { asResponse, encodedHeaders, renderStream, translator, wholeResponse, type Answer, type AnswerEvent, type CanonicalAnswer } from "../answer.ts"
import type { StreamTranslator } from "../../core/stream-translator.ts"
import type { StreamFraming } from "../../core/dialect-wire.ts"
import type { EncodeContext } from "../types.ts"
import { itemId, type ResponsesCarry } from "./conversation.ts"

/** Usage with the prompt tokens the server read from its cache. */
type CachedUsage = Usage & { cached?: number }
import { reasoningItem, reasoningStream, type ReasoningStream } from "./reasoning.ts"

type Obj = Record<string, unknown>
const newHex = () => crypto.randomUUID().replaceAll("-", "")

function envelope(id: string, model: string, created: number, status: string, output: Obj[], usage: CachedUsage | undefined, finish: string | null, carry?: ResponsesCarry): Obj {
  return {
    id,
    object: "response",
    created_at: created,
    status,
    error: null,
    incomplete_details: status === "incomplete" ? { reason: incompleteReason(finish) } : null,
    model,
    output,
    parallel_tool_calls: true,
    tool_choice: "auto",
    tools: [],
    usage: status === "in_progress" ? null : toResponsesUsage(usage),
    previous_response_id: carry?.previousResponseId ?? null,
    store: carry?.store !== undefined,
  }
}

/** Keep a finished response for continuations; one that cannot be kept is not an error of the answer. */
function keep(carry: ResponsesCarry | undefined, response: Obj): void {
  try {
    carry?.store?.put(response.id as string, { input: carry.input, response, restricted: carry.restricted === true })
  } catch {
    // The state file is unwritable (its faults are reported where it is opened); the
    // client already has its answer, and a continuation of it will say it is not found.
  }
}

function messageItem(id: string, text: string, status: string): Obj {
  return { type: "message", id, status, role: "assistant", content: status === "in_progress" ? [] : [{ type: "output_text", text, annotations: [] }] }
}

function callItem(id: string, t: Answer["tools"][number], status: string): Obj {
  return { type: "function_call", id, call_id: t.id, name: t.name, arguments: t.arguments, status }
}

/** A whole answer as a `response` object (kept when asked). */
function toResponse(a: Answer, model: string, carry?: ResponsesCarry): Obj {
  const hex = newHex()
  const output: Obj[] = []
  if (a.reasoning) output.push(reasoningItem(itemId("rs", hex, output.length), a.reasoning, carry?.summary ?? false))
  if (a.text) output.push(messageItem(itemId("msg", hex, output.length), a.text, "completed"))
  for (const t of a.tools) output.push(callItem(itemId("fc", hex, output.length), t, "completed"))
  const response = envelope(`resp_${hex}`, model, Math.floor(Date.now() / 1000), responseStatus(a.finish), output, a.usage && { ...a.usage, cached: a.cached }, a.finish, carry)
  keep(carry, response)
  return response
}

function createResponsesStreamRenderer(model: string, carry?: ResponsesCarry) {
  const hex = newHex()
  const id = `resp_${hex}`
  const created = Math.floor(Date.now() / 1000)
  let seq = 0
  const output: Obj[] = []
  let open:
    | { kind: "text"; id: string; index: number; text: string }
    | { kind: "tool"; id: string; index: number; tool: Answer["tools"][number]; from: number }
    | { kind: "reasoning"; index: number; stream: ReasoningStream }
    | undefined
  let finish: string | null = null
  let usage: CachedUsage | undefined
  let failed = false
  const ev = (type: string, data: Obj) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`

  const close = (): string => {
    if (!open) return ""
    const o = open
    open = undefined
    if (o.kind === "reasoning") {
      output[o.index] = o.stream.item()
      return o.stream.done()
    }
    if (o.kind === "text") {
      const item = messageItem(o.id, o.text, "completed")
      output[o.index] = item
      const part = { type: "output_text", text: o.text, annotations: [] }
      return (
        ev("response.output_text.done", { item_id: o.id, output_index: o.index, content_index: 0, text: o.text }) +
        ev("response.content_part.done", { item_id: o.id, output_index: o.index, content_index: 0, part }) +
        ev("response.output_item.done", { output_index: o.index, item })
      )
    }
    const item = callItem(o.id, o.tool, "completed")
    output[o.index] = item
    return ev("response.function_call_arguments.done", { item_id: o.id, output_index: o.index, arguments: o.tool.arguments }) + ev("response.output_item.done", { output_index: o.index, item })
  }

  return {
    start: () => {
      const r = envelope(id, model, created, "in_progress", [], undefined, null, carry)
      return ev("response.created", { response: r }) + ev("response.in_progress", { response: r })
    },
    event(e: AnswerEvent): string {
      if (failed) return ""
      switch (e.type) {
        case "text": {
          let out = ""
          if (open?.kind !== "text") {
            out += close()
            open = { kind: "text", id: itemId("msg", hex, output.length), index: output.length, text: "" }
            output.push(messageItem(open.id, "", "in_progress"))
            out += ev("response.output_item.added", { output_index: open.index, item: messageItem(open.id, "", "in_progress") })
            out += ev("response.content_part.added", { item_id: open.id, output_index: open.index, content_index: 0, part: { type: "output_text", text: "", annotations: [] } })
          }
          open.text += e.text
          return out + ev("response.output_text.delta", { item_id: open.id, output_index: open.index, content_index: 0, delta: e.text })
        }
        case "tool": {
          let out = close()
          const tool = { id: e.id, name: e.name, arguments: "" }
          open = { kind: "tool", id: itemId("fc", hex, output.length), index: output.length, tool, from: e.index }
          output.push(callItem(open.id, tool, "in_progress"))
          return out + ev("response.output_item.added", { output_index: open.index, item: callItem(open.id, tool, "in_progress") })
        }
        case "tool_args":
          if (open?.kind !== "tool" || open.from !== e.index) return ""
          open.tool.arguments += e.fragment
          return ev("response.function_call_arguments.delta", { item_id: open.id, output_index: open.index, delta: e.fragment })
        case "finish":
          finish = e.reason
          return ""
        case "keepalive":
          return ": keep-alive\n\n"
        case "reasoning": {
          // A local model's reasoning comes before its answer, as a reasoning item of its own.
          let out = ""
          if (open?.kind !== "reasoning") {
            out += close()
            const stream = reasoningStream(itemId("rs", hex, output.length), output.length, carry?.summary ?? false, ev)
            open = { kind: "reasoning", index: output.length, stream }
            output.push(stream.item())
            out += stream.start()
          }
          return out + open.stream.delta(e.text)
        }
        case "usage":
          usage = { ...e.usage, cached: e.cached }
          return ""
        case "error":
          failed = true
          return ev("error", { code: "upstream_stream_error", message: e.message, param: null }) +
            ev("response.failed", { response: { ...envelope(id, model, created, "failed", output, usage, finish, carry), error: { code: "server_error", message: e.message } } })
      }
    },
    end(): string {
      if (failed) return ""
      const out = close()
      const status = responseStatus(finish)
      const response = envelope(id, model, created, status, output, usage, finish, carry)
      keep(carry, response)
      return out + ev(status === "completed" ? "response.completed" : "response.incomplete", { response })
    },
  }
}

/** The Responses stream's own error event (a relayed native stream that fails part way). */
export const responsesFraming: StreamFraming = { error: (message, code) => `event: error\ndata: ${JSON.stringify({ type: "error", code, message })}\n\n` }

/** A canonical stream rendered as the Responses API's semantic events while it is relayed. */
export function translateResponses(ctx: Pick<EncodeContext, "model" | "carry" | "restricted">): StreamTranslator {
  return translator(createResponsesStreamRenderer(ctx.model, carryOf(ctx)), eventStreamHeaders())
}

/** The decoder's carry, told whether privacy restricted the request (a kept response remembers it). */
function carryOf(ctx: Pick<EncodeContext, "carry" | "restricted">): ResponsesCarry | undefined {
  const carry = ctx.carry as ResponsesCarry | undefined
  if (carry && ctx.restricted) carry.restricted = true
  return carry
}

export function encodeResponses(answer: CanonicalAnswer, ctx: Pick<EncodeContext, "stream" | "model" | "carry" | "headers" | "restricted">): Response {
  const carry = carryOf(ctx)
  if (ctx.stream) {
    const headers = encodedHeaders(eventStreamHeaders(), ctx.headers)
    return new Response(renderStream(asResponse(answer), createResponsesStreamRenderer(ctx.model, carry)), { status: 200, headers })
  }
  const render = (a: Answer) => (a.error ? { error: { message: a.error, type: "server_error", param: null, code: "upstream_error" } } : toResponse(a, ctx.model, carry))
  return wholeResponse(answer, render, encodedHeaders({ "content-type": "application/json" }, ctx.headers))
}
