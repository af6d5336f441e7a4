/**
 * An OpenAI Responses request as a canonical Chat Completions request. A continuation
 * (`previous_response_id`) of a response Nexus keeps is rebuilt from its store
 * (conversation.ts); `conversation` objects are refused with a 400 that says so.
 * Built-in tools (web_search, file_search, namespaces, …), `include` and
 * `prompt_cache_key` have no local equivalent and are dropped; `reasoning.effort` is
 * the client's reasoning wish.
 * @module
 */
import { NexusError } from "../../core/errors.ts"
import type { Reasoning } from "../../core/request.ts"
import { estimateTokens } from "../answer.ts"
import type { DecodeContext, Decoded } from "../types.ts"
import { conversationOf } from "./conversation.ts"

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v)

function bad(message: string, param: string): NexusError {
  return new NexusError({ kind: "invalid_request", message, code: "invalid_request", param })
}

interface State {
  messages: Obj[]
  chars: number
  vision: boolean
}

function contentOf(content: unknown, st: State, where: string): string | Obj[] {
  if (typeof content === "string") {
    st.chars += content.length
    return content
  }
  if (!Array.isArray(content)) throw bad(`${where}.content must be a string or a list of parts`, `${where}.content`)
  const parts: Obj[] = []
  for (const p of content) {
    if (!isObj(p)) continue
    if ((p.type === "input_text" || p.type === "output_text" || p.type === "text") && typeof p.text === "string") {
      st.chars += p.text.length
      parts.push({ type: "text", text: p.text })
    } else if (p.type === "input_image") {
      const url = typeof p.image_url === "string" ? p.image_url : undefined
      if (!url) throw bad(`${where}: input_image needs an image_url (file_id needs OpenAI's file store)`, `${where}.content`)
      st.vision = true
      parts.push({ type: "image_url", image_url: { url, ...(typeof p.detail === "string" ? { detail: p.detail } : {}) } })
    }
  }
  return parts.every((p) => p.type === "text") ? parts.map((p) => p.text).join("\n") : parts
}

function item(it: unknown, i: number, st: State): void {
  const where = `input[${i}]`
  if (!isObj(it)) throw bad(`${where} must be an object`, where)
  const type = it.type ?? "message"
  if (type === "message") {
    const role = it.role === "developer" ? "system" : it.role
    if (role !== "user" && role !== "assistant" && role !== "system") throw bad(`${where}.role must be user, assistant, system or developer`, `${where}.role`)
    st.messages.push({ role, content: contentOf(it.content, st, where) })
  } else if (type === "function_call") {
    const call = { id: String(it.call_id ?? it.id ?? `call_${i}`), type: "function", function: { name: String(it.name ?? ""), arguments: String(it.arguments ?? "{}") } }
    st.chars += call.function.arguments.length
    // Consecutive calls belong to one assistant turn.
    const last = st.messages[st.messages.length - 1]
    if (last?.role === "assistant" && Array.isArray(last.tool_calls)) last.tool_calls.push(call)
    else st.messages.push({ role: "assistant", content: null, tool_calls: [call] })
  } else if (type === "function_call_output") {
    const output = typeof it.output === "string" ? it.output : JSON.stringify(it.output ?? "")
    st.chars += output.length
    st.messages.push({ role: "tool", tool_call_id: String(it.call_id ?? ""), content: output })
  }
  // reasoning items and built-in tool calls: nothing a local model can read.
}

function tools(list: unknown): Obj[] {
  if (!Array.isArray(list)) return []
  return list
    .filter((t): t is Obj => isObj(t) && t.type === "function" && typeof t.name === "string")
    .map((t) => ({
      type: "function",
      function: { name: t.name, ...(typeof t.description === "string" ? { description: t.description } : {}), parameters: t.parameters ?? { type: "object", properties: {} }, ...(typeof t.strict === "boolean" ? { strict: t.strict } : {}) },
    }))
}

function toolChoice(choice: unknown): unknown {
  if (typeof choice === "string") return choice
  if (isObj(choice) && choice.type === "function" && typeof choice.name === "string") return { type: "function", function: { name: choice.name } }
  return undefined
}

/** `reasoning.effort` in no backend's terms ("none" and "minimal" ask for no thinking). */
function reasoningOf(r: unknown): Reasoning | undefined {
  const effort = isObj(r) ? r.effort : undefined
  if (effort === "low" || effort === "medium" || effort === "high") return { effort, show: true }
  if (effort === "none" || effort === "minimal") return { enabled: false, show: true }
  return undefined
}

export function decodeResponses(body: Obj, ctx?: DecodeContext): Decoded & { canonical: Obj } {
  if (typeof body.model !== "string" || !body.model) throw bad("model is required", "model")
  if (body.conversation !== undefined && body.conversation !== null) {
    throw bad("conversation is not supported: Nexus keeps no conversation objects. Continue with previous_response_id, or send the whole conversation in input.", "conversation")
  }
  const conversation = conversationOf(body, ctx?.responses)
  const st: State = { messages: [], chars: 0, vision: false }
  if (typeof body.instructions === "string" && body.instructions) {
    st.chars += body.instructions.length
    st.messages.push({ role: "system", content: body.instructions })
  }
  // Indexes in errors are the client's own: stored items come first.
  conversation.items.forEach((it, i) => item(it, i - conversation.stored, st))

  const stream = body.stream === true
  const canonical: Obj = { model: body.model, messages: st.messages }
  const fns = tools(body.tools)
  if (fns.length) {
    canonical.tools = fns
    const choice = toolChoice(body.tool_choice)
    if (choice !== undefined) canonical.tool_choice = choice
    if (typeof body.parallel_tool_calls === "boolean") canonical.parallel_tool_calls = body.parallel_tool_calls
  }
  if (typeof body.max_output_tokens === "number") canonical.max_tokens = body.max_output_tokens
  for (const k of ["temperature", "top_p"] as const) if (typeof body[k] === "number") canonical[k] = body[k]
  const format = isObj(body.text) && isObj(body.text.format) ? body.text.format : undefined
  if (format?.type === "json_object") canonical.response_format = { type: "json_object" }
  else if (format?.type === "json_schema") {
    canonical.response_format = { type: "json_schema", json_schema: { name: format.name ?? "format", schema: format.schema, ...(typeof format.strict === "boolean" ? { strict: format.strict } : {}) } }
  }
  if (stream) {
    canonical.stream = true
    canonical.stream_options = { include_usage: true }
  }
  const promptTokens = estimateTokens(st.chars + (fns.length ? JSON.stringify(fns).length : 0))
  const reasoning = reasoningOf(body.reasoning)
  return {
    model: body.model,
    stream,
    canonical,
    native: conversation.native,
    continues: conversation.continues,
    carry: conversation.carry,
    ...(reasoning ? { reasoning } : {}),
    requirements: {
      vision: st.vision,
      tools: fns.length > 0,
      jsonMode: canonical.response_format !== undefined,
      embeddings: false,
      estimatedTokens: promptTokens,
      promptTokens,
      ...(typeof body.max_output_tokens === "number" ? { maxTokens: body.max_output_tokens } : {}),
    },
  }
}
