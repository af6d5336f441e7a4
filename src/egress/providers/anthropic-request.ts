/**
 * A canonical (OpenAI Chat Completions) request as an Anthropic Messages API request:
 * system messages lifted to `system`, content parts to blocks (images included), tool
 * calls and tool results to `tool_use` / `tool_result` blocks, tools and tool_choice to
 * Anthropic's shapes, and a `max_tokens`, which Anthropic requires and OpenAI does not.
 * @module
 */
import { NexusError } from "../../core/errors.ts"
import type { Operation } from "../../core/request.ts"
import { isObject } from "./http.ts"

/** Output allowance when the client sets none; every current Claude model accepts it. */
export const DEFAULT_MAX_TOKENS = 4096

type Block = Record<string, unknown>
interface Turn {
  role: "user" | "assistant"
  content: Block[]
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return ""
  return content.map((p) => (isObject(p) && typeof p.text === "string" ? p.text : "")).join("")
}

/** An `image_url` part: a data URL becomes base64, anything else a URL source. */
function imageBlock(part: Record<string, unknown>): Block {
  const ref = isObject(part.image_url) ? part.image_url.url : part.image_url
  const url = typeof ref === "string" ? ref : ""
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url)
  if (data) return { type: "image", source: { type: "base64", media_type: data[1], data: data[2] } }
  return { type: "image", source: { type: "url", url } }
}

function blocksOf(content: unknown): Block[] {
  if (typeof content === "string") return content ? [{ type: "text", text: content }] : []
  if (!Array.isArray(content)) return []
  const out: Block[] = []
  for (const part of content) {
    if (!isObject(part)) continue
    if (part.type === "text" && typeof part.text === "string") out.push({ type: "text", text: part.text })
    else if (part.type === "image_url") out.push(imageBlock(part))
  }
  return out
}

function parseArguments(args: unknown): unknown {
  if (typeof args !== "string") return isObject(args) ? args : {}
  try {
    const v = JSON.parse(args || "{}")
    return isObject(v) ? v : { value: v }
  } catch {
    return { arguments: args }
  }
}

function turnOf(m: Record<string, unknown>): Turn | undefined {
  if (m.role === "assistant") {
    const content = blocksOf(m.content)
    if (Array.isArray(m.tool_calls)) {
      for (const call of m.tool_calls) {
        if (!isObject(call) || !isObject(call.function)) continue
        content.push({ type: "tool_use", id: call.id, name: call.function.name, input: parseArguments(call.function.arguments) })
      }
    }
    return { role: "assistant", content }
  }
  if (m.role === "tool") {
    return { role: "user", content: [{ type: "tool_result", tool_use_id: m.tool_call_id, content: textOf(m.content) }] }
  }
  return { role: "user", content: blocksOf(m.content) }
}

/** Anthropic wants alternating turns: consecutive same-role messages become one. */
function alternate(turns: Turn[]): Turn[] {
  const out: Turn[] = []
  for (const t of turns) {
    const last = out[out.length - 1]
    if (last && last.role === t.role) last.content.push(...t.content)
    else out.push({ role: t.role, content: [...t.content] })
  }
  return out.filter((t) => t.content.length > 0)
}

function toolChoice(choice: unknown, parallel: unknown): Block | undefined {
  let out: Block | undefined
  if (choice === "auto") out = { type: "auto" }
  else if (choice === "required") out = { type: "any" }
  else if (choice === "none") out = { type: "none" }
  else if (isObject(choice) && isObject(choice.function)) out = { type: "tool", name: choice.function.name }
  if (parallel === false) out = { ...(out ?? { type: "auto" }), disable_parallel_tool_use: true }
  return out
}

function tools(list: unknown): Block[] | undefined {
  if (!Array.isArray(list)) return undefined
  return list
    .filter((t): t is Record<string, unknown> => isObject(t) && isObject(t.function))
    .map((t) => {
      const f = t.function as Record<string, unknown>
      return { name: f.name, ...(f.description ? { description: f.description } : {}), input_schema: isObject(f.parameters) ? f.parameters : { type: "object", properties: {} } }
    })
}

export function toMessagesRequest(body: Record<string, unknown>, model: string, operation: Operation): { path: string; body: string } {
  if (operation !== "chat") {
    throw new NexusError({ kind: "invalid_request", message: `Anthropic backends serve chat completions only, not ${operation}`, code: "unsupported_operation" })
  }
  const messages = Array.isArray(body.messages) ? body.messages.filter(isObject) : []
  const system = messages.filter((m) => m.role === "system" || m.role === "developer").map((m) => textOf(m.content)).filter(Boolean)
  const turns = alternate(messages.filter((m) => m.role !== "system" && m.role !== "developer").map(turnOf).filter((t): t is Turn => !!t))
  const maxTokens = body.max_completion_tokens ?? body.max_tokens
  const stop = typeof body.stop === "string" ? [body.stop] : Array.isArray(body.stop) ? body.stop : undefined
  const out: Record<string, unknown> = {
    model,
    max_tokens: typeof maxTokens === "number" && maxTokens > 0 ? maxTokens : DEFAULT_MAX_TOKENS,
    messages: turns,
  }
  if (system.length) out.system = system.join("\n\n")
  if (typeof body.temperature === "number") out.temperature = Math.min(body.temperature, 1)
  if (typeof body.top_p === "number") out.top_p = body.top_p
  if (stop?.length) out.stop_sequences = stop
  if (body.stream === true) out.stream = true
  const t = tools(body.tools)
  if (t?.length) out.tools = t
  const choice = t?.length ? toolChoice(body.tool_choice, body.parallel_tool_calls) : undefined
  if (choice) out.tool_choice = choice
  if (typeof body.user === "string") out.metadata = { user_id: body.user }
  return { path: "/messages", body: JSON.stringify(out) }
}
