/**
 * Ollama's native requests (`/api/chat`, `/api/generate`, `/api/embed`, `/api/embeddings`)
 * as canonical OpenAI requests. Streaming is on unless `"stream": false`, as in Ollama.
 * `options` map to OpenAI's parameters; `format` to JSON mode; images (bare base64) to
 * data URLs; tool calls (arguments as objects) to OpenAI's (arguments as JSON text).
 * Ollama-only knobs (`keep_alive`, `think`, `context`, `template`, `num_ctx`, …) are dropped.
 * @module
 */
import { NexusError } from "../../core/errors.ts"
import type { Operation, Requirements } from "../../core/request.ts"
import { estimateTokens } from "../answer.ts"

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v)

function bad(message: string, param?: string): NexusError {
  return new NexusError({ kind: "invalid_request", message, code: "invalid_request", param })
}

export interface OllamaDecoded {
  model: string
  stream: boolean
  canonical: Obj
  requirements: Requirements
  operation?: Operation
}

function modelOf(body: Obj): string {
  const model = body.model ?? body.name
  if (typeof model !== "string" || !model) throw bad("model is required", "model")
  return model
}

/** Ollama sends images as bare base64; the magic bytes say which type. */
function dataUrl(b64: string): string {
  if (b64.startsWith("data:")) return b64
  const mime = b64.startsWith("/9j/") ? "image/jpeg" : b64.startsWith("R0lG") ? "image/gif" : b64.startsWith("UklG") ? "image/webp" : "image/png"
  return `data:${mime};base64,${b64}`
}

/** `options` and `format` as OpenAI parameters. */
function parameters(body: Obj, out: Obj): boolean {
  const o = isObj(body.options) ? body.options : {}
  const num = (k: string) => (typeof o[k] === "number" ? (o[k] as number) : undefined)
  const set = (to: string, v: unknown) => v !== undefined && (out[to] = v)
  set("temperature", num("temperature"))
  set("top_p", num("top_p"))
  set("top_k", num("top_k"))
  set("seed", num("seed"))
  set("presence_penalty", num("presence_penalty"))
  set("frequency_penalty", num("frequency_penalty"))
  const predict = num("num_predict")
  if (predict !== undefined && predict > 0) out.max_tokens = predict
  if (Array.isArray(o.stop) && o.stop.length) out.stop = o.stop
  else if (typeof o.stop === "string") out.stop = [o.stop]
  if (body.format === "json") out.response_format = { type: "json_object" }
  else if (isObj(body.format)) out.response_format = { type: "json_schema", json_schema: { name: "format", schema: body.format } }
  return out.response_format !== undefined
}

function images(list: unknown): Obj[] {
  if (list === undefined || list === null) return []
  if (!Array.isArray(list)) throw bad("images must be a list of base64 strings", "images")
  return list.map((img) => ({ type: "image_url", image_url: { url: dataUrl(String(img)) } }))
}

function convertMessages(list: unknown): { messages: Obj[]; chars: number; vision: boolean } {
  if (list !== undefined && !Array.isArray(list)) throw bad("messages must be a list", "messages")
  const out = { messages: [] as Obj[], chars: 0, vision: false }
  // Ollama's tool results name the tool, OpenAI's name the call: pair them in order.
  let pending: { id: string; name: string }[] = []
  ;(list ?? []).forEach((m: unknown, i: number) => {
    if (!isObj(m) || typeof m.role !== "string") throw bad(`messages[${i}].role is required`, "messages")
    const text = typeof m.content === "string" ? m.content : ""
    out.chars += text.length
    const imgs = images(m.images)
    if (imgs.length) out.vision = true
    if (m.role === "tool") {
      const at = pending.findIndex((p) => p.name === m.tool_name)
      const call = pending.splice(at >= 0 ? at : 0, 1)[0]
      out.messages.push({ role: "tool", tool_call_id: typeof m.tool_call_id === "string" ? m.tool_call_id : (call?.id ?? `call_${i}`), content: text })
      return
    }
    const msg: Obj = { role: m.role, content: imgs.length ? [{ type: "text", text }, ...imgs] : text }
    if (m.role === "assistant" && Array.isArray(m.tool_calls) && m.tool_calls.length) {
      pending = []
      msg.tool_calls = m.tool_calls.map((c: unknown, j: number) => {
        const fn = isObj(c) && isObj(c.function) ? c.function : {}
        const id = isObj(c) && typeof c.id === "string" ? c.id : `call_${i}_${j}`
        const name = String(fn.name ?? "")
        pending.push({ id, name })
        const args = typeof fn.arguments === "string" ? fn.arguments : JSON.stringify(fn.arguments ?? {})
        out.chars += args.length
        return { id, type: "function", function: { name, arguments: args } }
      })
      if (!text) msg.content = null
    }
    out.messages.push(msg)
  })
  return out
}

function streamOf(body: Obj): boolean {
  return body.stream !== false
}

function finish(body: Obj, canonical: Obj, stream: boolean): void {
  if (stream) {
    canonical.stream = true
    canonical.stream_options = { include_usage: true }
  }
}

export function decodeChat(body: Obj): OllamaDecoded {
  const model = modelOf(body)
  const { messages, chars, vision } = convertMessages(body.messages)
  const stream = streamOf(body)
  const canonical: Obj = { model, messages }
  const tools = Array.isArray(body.tools) && body.tools.length > 0
  // Ollama's tools are OpenAI's already.
  if (tools) canonical.tools = body.tools
  const jsonMode = parameters(body, canonical)
  finish(body, canonical, stream)
  const toolChars = tools ? JSON.stringify(body.tools).length : 0
  return { model, stream, canonical, requirements: { vision, tools, jsonMode, embeddings: false, estimatedTokens: estimateTokens(chars + toolChars) } }
}

/**
 * `/api/generate`: a chat turn (system + prompt + images), except `raw` prompts and
 * `suffix` (fill in the middle), which go to the completions endpoint as they are.
 */
export function decodeGenerate(body: Obj): OllamaDecoded {
  const model = modelOf(body)
  if (body.prompt !== undefined && typeof body.prompt !== "string") throw bad("prompt must be a string", "prompt")
  const prompt = (body.prompt as string | undefined) ?? ""
  const system = typeof body.system === "string" ? body.system : ""
  const imgs = images(body.images)
  const stream = streamOf(body)
  const completion = body.raw === true || (typeof body.suffix === "string" && body.suffix !== "")
  const canonical: Obj = { model }
  if (completion) {
    canonical.prompt = prompt
    if (typeof body.suffix === "string" && body.suffix) canonical.suffix = body.suffix
  } else {
    const user = imgs.length ? [{ type: "text", text: prompt }, ...imgs] : prompt
    canonical.messages = [...(system ? [{ role: "system", content: system }] : []), { role: "user", content: user }]
  }
  const jsonMode = parameters(body, canonical)
  finish(body, canonical, stream)
  return {
    model,
    stream,
    canonical,
    operation: completion ? "completions" : "chat",
    requirements: { vision: imgs.length > 0, tools: false, jsonMode, embeddings: false, estimatedTokens: estimateTokens(prompt.length + system.length) },
  }
}

/** `/api/embed` (`input`: text or texts) and the legacy `/api/embeddings` (`prompt`). */
export function decodeEmbed(body: Obj, legacy: boolean): OllamaDecoded {
  const model = modelOf(body)
  const input = legacy ? body.prompt : body.input
  const ok = typeof input === "string" || (!legacy && Array.isArray(input) && input.every((s) => typeof s === "string"))
  if (!ok) throw bad(legacy ? "prompt must be a string" : "input must be a string or a list of strings", legacy ? "prompt" : "input")
  const canonical: Obj = { model, input }
  if (typeof body.dimensions === "number") canonical.dimensions = body.dimensions
  const chars = typeof input === "string" ? input.length : (input as string[]).join("").length
  return { model, stream: false, canonical, requirements: { vision: false, tools: false, jsonMode: false, embeddings: true, estimatedTokens: estimateTokens(chars) } }
}
