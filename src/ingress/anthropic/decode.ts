/**
 * An Anthropic Messages request as the canonical (OpenAI Chat Completions) request.
 * Controls only Anthropic's own servers honour (`cache_control`, `context_management`,
 * `service_tier`, server tools, fields and blocks yet to come) are dropped here, never
 * refused; `thinking` and `output_config` are read as the client's reasoning wishes.
 * @module
 */
import { NexusError } from "../../core/errors.ts"
import type { Reasoning, Requirements } from "../../core/request.ts"
import { estimateTokens } from "../answer.ts"
import { reasoningOf } from "./reasoning.ts"

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v)

function bad(message: string, param: string): NexusError {
  return new NexusError({ kind: "invalid_request", message, code: "invalid_request", param })
}

/** Claude Code's first system block is billing metadata, not an instruction. */
const METADATA_BLOCK = /^x-anthropic-billing-header:/

function textOf(blocks: unknown, where: string): string {
  if (typeof blocks === "string") return blocks
  if (!Array.isArray(blocks)) throw bad(`${where} must be a string or a list of text blocks`, where)
  return blocks
    .filter((b): b is Obj => isObj(b) && b.type === "text" && typeof b.text === "string")
    .map((b) => b.text as string)
    .filter((t) => !METADATA_BLOCK.test(t))
    .join("\n\n")
}

/** An image as an OpenAI part; undefined for sources only Anthropic can read (a Files API id). */
function imagePart(block: Obj, where: string): Obj | undefined {
  const src = block.source
  if (!isObj(src) || typeof src.type !== "string") throw bad(`${where}.source must be an object with a \`type\` (base64, url, file)`, where)
  if (src.type === "base64" && typeof src.data === "string") {
    const mime = typeof src.media_type === "string" ? src.media_type : "image/png"
    return { type: "image_url", image_url: { url: `data:${mime};base64,${src.data}` } }
  }
  if (src.type === "url" && typeof src.url === "string") return { type: "image_url", image_url: { url: src.url } }
  return undefined
}

/**
 * A tool result's content as text: the text blocks joined (images in results are dropped).
 * A tool search answers with `tool_reference` blocks, which Anthropic expands into the
 * tools' definitions; a local model is told their names, and `referenced` makes them
 * part of the tools it is offered.
 */
function resultText(block: Obj, { referenced, dropped }: Pick<Counted, "referenced" | "dropped">): string {
  const c = block.content
  if (!Array.isArray(c)) return resultError(block, typeof c === "string" ? c : "")
  const lines: string[] = []
  for (const b of c) {
    if (!isObj(b)) continue
    if (b.type === "text") lines.push(String(b.text ?? ""))
    else if (b.type === "tool_reference" && typeof b.tool_name === "string") {
      referenced.add(b.tool_name)
      lines.push(`Tool ${b.tool_name} is now available to call.`)
    } else dropped.add(`${String(b.type)} block in a tool result`)
  }
  return resultError(block, lines.join("\n"))
}

const resultError = (block: Obj, text: string) => (block.is_error === true ? `Error: ${text}` : text)

interface Counted {
  messages: Obj[]
  chars: number
  vision: boolean
  /** What the canonical form leaves out (block types, image sources), for the debug log. */
  dropped: Set<string>
  /** Tools a tool search has loaded (`tool_reference`), so deferred ones are offered. */
  referenced: Set<string>
}

/**
 * How a system turn in mid-conversation reaches a server that is not Anthropic's: as
 * user-side text, since many chat templates (Qwen's among them) raise on a system message
 * anywhere but first. Kept where it was said, never hoisted into the leading system
 * message, so the prompt before it (and the server's prompt cache) is the same every turn.
 */
export const systemNote = (text: string) => `<system-reminder>\n${text}\n</system-reminder>`

/**
 * Add a user turn; one straight after another user turn joins it, as Anthropic itself
 * reads consecutive user turns (and templates that insist on alternating roles need).
 */
function pushUser(out: Obj[], content: string | Obj[]): void {
  const last = out[out.length - 1]
  if (last?.role !== "user") {
    out.push({ role: "user", content })
    return
  }
  const prev = last.content as string | Obj[]
  if (typeof prev === "string" && typeof content === "string") last.content = `${prev}\n\n${content}`
  else last.content = [...asParts(prev), ...asParts(content)]
}

const asParts = (c: string | Obj[]): Obj[] => (typeof c === "string" ? [{ type: "text", text: c }] : c)

function convertBlocks(out: Counted, m: Obj, i: number): void {
  const where = `messages[${i}]`
  if (!Array.isArray(m.content)) throw bad(`${where}.content must be a string or a list of blocks`, `${where}.content`)
  const parts: Obj[] = []
  const calls: Obj[] = []
  const results: Obj[] = []
  m.content.forEach((b, j) => {
    if (!isObj(b)) throw bad(`${where}.content[${j}] must be a block object`, `${where}.content`)
    if (b.type === "text" && typeof b.text === "string") {
      out.chars += b.text.length
      parts.push({ type: "text", text: b.text })
    } else if (b.type === "image") {
      const part = imagePart(b, `${where}.content[${j}]`)
      if (part) {
        out.vision = true
        parts.push(part)
      } else out.dropped.add(`image source ${String((b.source as Obj).type)}`)
    } else if (b.type === "tool_use") {
      const args = JSON.stringify(b.input ?? {})
      out.chars += args.length
      calls.push({ id: String(b.id ?? `toolu_${i}_${j}`), type: "function", function: { name: String(b.name ?? ""), arguments: args } })
    } else if (b.type === "tool_result") {
      const text = resultText(b, out)
      out.chars += text.length
      results.push({ role: "tool", tool_call_id: String(b.tool_use_id ?? ""), content: text })
    } else {
      // thinking, redacted_thinking, document, server tool blocks, types yet to come:
      // nothing the canonical form can carry.
      out.dropped.add(`${String(b.type)} block`)
    }
  })
  // Tool results answer the previous assistant turn, so they come before the user's text.
  out.messages.push(...results)
  const onlyText = parts.every((p) => p.type === "text")
  const content = onlyText ? parts.map((p) => p.text as string).join("\n\n") : parts
  if (m.role === "assistant") {
    if (parts.length || calls.length) out.messages.push({ role: "assistant", content: onlyText && !parts.length ? null : content, ...(calls.length ? { tool_calls: calls } : {}) })
  } else if (parts.length) {
    pushUser(out.messages, content)
  }
}

function convertMessages(list: unknown): Counted {
  if (!Array.isArray(list) || list.length === 0) throw bad("messages must be a non-empty list", "messages")
  const out: Counted = { messages: [], chars: 0, vision: false, dropped: new Set(), referenced: new Set() }
  let sawUser = false
  list.forEach((m, i) => {
    const where = `messages[${i}]`
    if (!isObj(m) || (m.role !== "user" && m.role !== "assistant" && m.role !== "system")) {
      throw bad(`${where}.role must be "user", "assistant" or "system"`, `${where}.role`)
    }
    if (m.role === "system") {
      if (!sawUser) throw bad(`${where}: a system message may only follow a user turn (instructions that come first belong in the top-level \`system\`)`, `${where}.role`)
      const text = textOf(m.content, `${where}.content`)
      out.chars += text.length
      if (text) pushUser(out.messages, systemNote(text))
      return
    }
    sawUser ||= m.role === "user"
    if (typeof m.content === "string") {
      out.chars += m.content.length
      if (m.role === "user") pushUser(out.messages, m.content)
      else out.messages.push({ role: m.role, content: m.content })
      return
    }
    convertBlocks(out, m, i)
  })
  return out
}

/**
 * Tools as OpenAI functions. A deferred tool (`defer_loading`) is offered only once a tool
 * search has loaded it: until then Anthropic shows the model its name only, and Claude
 * Code's placeholder ("never call this tool") is never meant to be called.
 */
function convertTools(tools: unknown, { dropped, referenced }: Counted): Obj[] | undefined {
  if (tools === undefined) return undefined
  if (!Array.isArray(tools)) throw bad("tools must be a list", "tools")
  const fns: Obj[] = []
  for (const t of tools) {
    const deferred = isObj(t) && t.defer_loading === true
    if (isObj(t) && typeof t.name === "string" && isObj(t.input_schema) && (!deferred || referenced.has(t.name))) fns.push(t)
    // Server tools (web_search_…, bash_…, text_editor_…) run on Anthropic's side: dropped.
    else if (!deferred) dropped.add(`tool ${isObj(t) ? String(t.type ?? t.name) : typeof t}`)
  }
  return fns.map((t) => ({ type: "function", function: { name: t.name, ...(typeof t.description === "string" ? { description: t.description } : {}), parameters: t.input_schema } }))
}

function convertToolChoice(choice: unknown): { tool_choice?: unknown; parallel_tool_calls?: boolean } {
  if (!isObj(choice)) return {}
  const parallel = choice.disable_parallel_tool_use === true ? { parallel_tool_calls: false } : {}
  switch (choice.type) {
    case "auto":
      return { tool_choice: "auto", ...parallel }
    case "any":
      return { tool_choice: "required", ...parallel }
    case "none":
      return { tool_choice: "none" }
    case "tool":
      return { tool_choice: { type: "function", function: { name: String(choice.name ?? "") } }, ...parallel }
    default:
      throw bad(`tool_choice.type must be auto, any, tool or none`, "tool_choice")
  }
}

export interface DecodedMessages {
  model: string
  stream: boolean
  canonical: Obj
  requirements: Requirements
  /** Fields and block types the canonical form leaves out; absent when there are none. */
  dropped?: string[]
  reasoning?: Reasoning
}

/** The top-level fields the canonical form carries; the rest reach Anthropic backends only. */
const CARRIED = new Set(["model", "messages", "system", "max_tokens", "stream", "tools", "tool_choice", "stop_sequences", "temperature", "top_p", "top_k", "thinking", "output_config"])

/** Decode and validate; `forCount` skips what count_tokens does not need (max_tokens). */
export function decodeMessages(body: Obj, forCount = false): DecodedMessages {
  if (typeof body.model !== "string" || !body.model) throw bad("model: field required", "model")
  if (!forCount && (typeof body.max_tokens !== "number" || !Number.isInteger(body.max_tokens) || body.max_tokens < 1)) {
    throw bad("max_tokens: field required (a positive integer)", "max_tokens")
  }
  const counted = convertMessages(body.messages)
  const { messages, chars, vision, dropped } = counted
  const system = body.system === undefined ? "" : textOf(body.system, "system")
  const tools = convertTools(body.tools, counted)
  for (const k in body) if (!CARRIED.has(k)) dropped.add(k)
  const stream = body.stream === true
  const reasoning = reasoningOf(body)
  const canonical: Obj = {
    model: body.model,
    messages: system ? [{ role: "system", content: system }, ...messages] : messages,
  }
  if (typeof body.max_tokens === "number") canonical.max_tokens = body.max_tokens
  if (tools?.length) {
    canonical.tools = tools
    Object.assign(canonical, convertToolChoice(body.tool_choice))
  }
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length) canonical.stop = body.stop_sequences
  for (const k of ["temperature", "top_p", "top_k"] as const) if (typeof body[k] === "number") canonical[k] = body[k]
  if (stream) {
    canonical.stream = true
    canonical.stream_options = { include_usage: true }
  }
  const toolChars = tools ? JSON.stringify(tools).length : 0
  const promptTokens = estimateTokens(chars + system.length + toolChars)
  return {
    model: body.model,
    stream,
    canonical,
    ...(dropped.size ? { dropped: [...dropped] } : {}),
    ...(reasoning ? { reasoning } : {}),
    requirements: {
      vision,
      tools: !!tools?.length,
      jsonMode: false,
      embeddings: false,
      // Not max_tokens: Claude Code asks for 32000 whatever the model; the budget is
      // clamped to what the chosen model has left instead.
      estimatedTokens: promptTokens,
      promptTokens,
      ...(typeof body.max_tokens === "number" ? { maxTokens: body.max_tokens } : {}),
    },
  }
}
