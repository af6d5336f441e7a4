/**
 * What the emulated model says, shared by every server: the reply split into the stream's
 * tokens, or tool calls whose JSON arguments stream in pieces, the usage it bills, the
 * OpenAI-shaped message and the order of the stream's chunks. Each server frames them
 * in its own envelope (and keeps its own quirks) in its own file.
 */
import { randomId } from "./common.ts"
import type { EmulatorState } from "./types.ts"

export function sse(data: unknown): string {
  return `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`
}

/** Split a reply into `n` non-empty pieces (the tokens of the stream). */
export function pieces(reply: string, n: number): string[] {
  const count = Math.max(1, n)
  const size = Math.ceil(reply.length / count)
  const out: string[] = []
  for (let i = 0; i < count; i++) out.push(reply.slice(i * size, (i + 1) * size) || " ")
  return out
}

/** Rough token count the way the emulators bill usage: characters / 4. */
export function promptTokens(body: Record<string, unknown>): number {
  const messages = Array.isArray(body.messages) ? body.messages : []
  let chars = 0
  for (const m of messages) {
    const c = (m as { content?: unknown }).content
    if (typeof c === "string") chars += c.length
    else if (Array.isArray(c)) for (const p of c) chars += typeof p?.text === "string" ? p.text.length : 0
  }
  if (typeof body.prompt === "string") chars += body.prompt.length
  return Math.max(1, Math.ceil(chars / 4))
}

/** The exception a strict chat template raises when a system message is not the first one. */
export const SYSTEM_NOT_FIRST = "System message must be at the beginning."

/** Whether rendering `body` with a strict template raises (a system message after the first). */
export function templateRaises(body: Record<string, unknown>): boolean {
  const messages = Array.isArray(body.messages) ? body.messages : []
  return messages.some((m, i) => i > 0 && (m as { role?: unknown })?.role === "system")
}

export interface ToolCallOut {
  id: string
  name: string
  /** The arguments as JSON text, and that text in the pieces a stream sends. */
  arguments: string
  pieces: string[]
}

/** One answer of the emulated model to one request. */
export interface Turn {
  reply: string
  /** Content pieces, one per streamed token. */
  parts: string[]
  /** Tool calls instead of text, when the request offered tools and the model is set to call them. */
  calls: ToolCallOut[]
  /** Reasoning pieces streamed before the answer (a thinking model with thinking on). */
  thinking: string[]
  finish: "stop" | "tool_calls"
  prompt: number
  completion: number
}

function offersTools(body: Record<string, unknown>): boolean {
  return Array.isArray(body.tools) && body.tools.length > 0 && body.tool_choice !== "none"
}

/** The model's answer to `body`; `toolCalling: false` for a server that never calls tools. */
export function turn(state: EmulatorState, body: Record<string, unknown>, toolCalling = true): Turn {
  const prompt = promptTokens(body)
  if (state.toolRoundTrip) {
    const result = lastToolResult(body)
    if (result !== undefined) {
      const reply = `${state.reply} ${result}`
      const parts = pieces(reply, state.chunks)
      return { reply, parts, calls: [], thinking: [], finish: "stop", prompt, completion: parts.length }
    }
  }
  if (toolCalling && state.toolCalls.length && offersTools(body)) {
    // Chat Completions nests the name under `function`; Responses has it flat.
    const offered = new Set((body.tools as { name?: unknown; function?: { name?: unknown } }[]).map((t) => t?.function?.name ?? t?.name))
    const match = state.toolCalls.find((c) => offered.has(c.name))
    const chosen = state.toolRoundTrip ? (match ? [match] : []) : state.toolCalls
    const calls = chosen.map((c) => {
      const args = JSON.stringify(c.arguments)
      return { id: `call_${randomId(24)}`, name: c.name, arguments: args, pieces: pieces(args, state.chunks) }
    })
    const completion = calls.reduce((n, c) => n + c.pieces.length, 0)
    if (calls.length) return { reply: "", parts: [], calls, thinking: [], finish: "tool_calls", prompt, completion }
  }
  const parts = pieces(state.reply, state.chunks)
  const huge = state.faults.hugeFrameBytes
  if (huge) parts[0] = "A".repeat(huge)
  const reply = huge ? parts.join("") : state.reply
  return { reply, parts, calls: [], thinking: [], finish: "stop", prompt, completion: parts.length }
}

/** Qwen-style templates think unless `chat_template_kwargs.enable_thinking` is false. */
export function thinkingOn(body: Record<string, unknown>): boolean {
  const kwargs = body.chat_template_kwargs as { enable_thinking?: unknown } | undefined
  return kwargs?.enable_thinking !== false
}

/** The turn of a thinking model (`state.reasoning`) when the request leaves thinking `on`. */
export function thought(state: EmulatorState, t: Turn, on: boolean): Turn {
  if (!on || !state.reasoning) return t
  const thinking = pieces(state.reasoning, state.chunks)
  return { ...t, thinking, completion: t.completion + thinking.length }
}

/**
 * The text of the tool result the conversation ends with (OpenAI, Ollama, Responses and
 * Anthropic shapes); user text after it in the same turn (Claude Code's "Tool loaded.")
 * does not hide it.
 */
function lastToolResult(body: Record<string, unknown>): string | undefined {
  const messages = Array.isArray(body.messages) ? body.messages : []
  let at = messages.length - 1
  const isUserText = (m: { role?: unknown; content?: unknown } | undefined) =>
    m?.role === "user" && (typeof m.content === "string" || (Array.isArray(m.content) && m.content.every((b) => b?.type === "text")))
  while (at > 0 && isUserText(messages[at]) && messages[at - 1]?.role === "tool") at--
  const last = messages[at] as { role?: unknown; type?: unknown; content?: unknown; output?: unknown } | undefined
  if (last?.type === "function_call_output") return typeof last.output === "string" ? last.output : JSON.stringify(last.output)
  // Anthropic: a user turn holding tool_result blocks.
  const result = last?.role === "user" && Array.isArray(last.content) ? last.content.find((b) => b?.type === "tool_result") : undefined
  if (result) return typeof result.content === "string" ? result.content : Array.isArray(result.content) ? result.content.map((p: { text?: unknown }) => (typeof p?.text === "string" ? p.text : "")).join("\n") : ""
  if (last?.role !== "tool") return undefined
  if (typeof last.content === "string") return last.content
  if (Array.isArray(last.content)) return last.content.map((p) => (typeof p?.text === "string" ? p.text : "")).join("\n")
  return ""
}

/** Usage in OpenAI's key order (some servers order it their own way). */
export function usage(t: Turn) {
  return { prompt_tokens: t.prompt, completion_tokens: t.completion, total_tokens: t.prompt + t.completion }
}

/** The assistant message of a non-streamed answer. */
export function message(t: Turn, reasoningKey = "reasoning_content"): Record<string, unknown> {
  const reasoning = t.thinking.length ? { [reasoningKey]: t.thinking.join("") } : {}
  if (!t.calls.length) return { role: "assistant", content: t.reply, ...reasoning }
  return {
    role: "assistant",
    content: null,
    ...reasoning,
    tool_calls: t.calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })),
  }
}

/** A stream's deltas: the reply's pieces, or each tool call's header then its argument pieces. */
function deltas(t: Turn, wholeToolCalls: boolean, reasoningKey: string): Record<string, unknown>[] {
  const thinking = t.thinking.map((p) => ({ [reasoningKey]: p }))
  if (!t.calls.length) return [...thinking, ...t.parts.map((p) => ({ content: p }))]
  if (wholeToolCalls) {
    return [...thinking, { tool_calls: t.calls.map((c, index) => ({ index, id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })) }]
  }
  return [...thinking, ...t.calls.flatMap((c, index) => [
    { tool_calls: [{ index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] },
    ...c.pieces.map((p) => ({ tool_calls: [{ index, function: { arguments: p } }] })),
  ])]
}

export interface StreamShape {
  /** One delta in the server's chunk envelope; `finish` is set on the chunk that ends the turn. */
  frame(delta: Record<string, unknown>, finish: string | null): string
  /** Events before the first delta: comments, a role-only chunk, a progress chunk. */
  lead?: string[]
  /** Where `role: "assistant"` goes: on the first delta, on every one, or nowhere (a lead chunk carries it). */
  role?: "first" | "every" | "none"
  /** The finish chunk's delta; `null`: the last delta carries the finish reason itself. Default `{}`. */
  finish?: Record<string, unknown> | null
  /** Events after the finish chunk, before `[DONE]` (a usage chunk, a stats comment). */
  tail?: string[]
  /** Ends with `data: [DONE]` (default true). */
  done?: boolean
  /** All tool calls in one chunk instead of streamed arguments. */
  wholeToolCalls?: boolean
  /** The delta field reasoning streams in (default `reasoning_content`; Ollama's OpenAI layer: `reasoning`). */
  reasoningKey?: string
}

/** A streamed turn as framed events, and where its content starts (faults count from there). */
export function chatStream(t: Turn, shape: StreamShape): { events: string[]; contentStart: number } {
  const lead = shape.lead ?? []
  const list = deltas(t, shape.wholeToolCalls ?? false, shape.reasoningKey ?? "reasoning_content").map((d, i) =>
    shape.role === "every" || (shape.role === "first" && i === 0) ? { role: "assistant", ...d } : d
  )
  const events = [...lead]
  list.forEach((d, i) => events.push(shape.frame(d, shape.finish === null && i === list.length - 1 ? t.finish : null)))
  if (shape.finish !== null) events.push(shape.frame(shape.finish ?? {}, t.finish))
  events.push(...(shape.tail ?? []))
  if (shape.done !== false) events.push("data: [DONE]\n\n")
  return { events, contentStart: lead.length }
}

/** A streamed legacy completion (`/v1/completions`): `text` pieces, the finish, usage when asked, [DONE]. */
export function completionStream(t: Turn, head: Record<string, unknown>, includeUsage: boolean): string[] {
  const chunk = (text: string, finish: string | null) => sse({ ...head, object: "text_completion", choices: [{ index: 0, text, logprobs: null, finish_reason: finish }] })
  const events = t.parts.map((p, i) => chunk(p, i === t.parts.length - 1 ? "stop" : null))
  if (includeUsage) events.push(sse({ ...head, object: "text_completion", choices: [], usage: usage(t) }))
  events.push("data: [DONE]\n\n")
  return events
}
