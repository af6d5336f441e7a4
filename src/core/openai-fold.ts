/**
 * The one fold of an OpenAI answer into a whole one: the chunks of a stream, or a
 * document (taken as its one chunk), added in order. Every choice is kept by its index,
 * with its text, reasoning, tool calls (fragments joined by their index), finish reason
 * and matched stop string; the answer's id, model, creation time, usage and error with
 * them. Read back as the chat.completion (or text_completion) document a non-streaming
 * request gets, or by a client dialect's encoder.
 * @module
 */

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v)

export interface FoldedTool {
  /** The server's id for the call, when it gave one. */
  id?: string
  name: string
  arguments: string
}

export interface FoldedChoice {
  text: string
  reasoning?: string
  tools: FoldedTool[]
  /** Tool call index (as the server numbers them) -> position in `tools`. */
  order: Map<number, number>
  finish: string | null
  /** The stop string that matched, when the server says. */
  stopSequence?: string
}

export class OpenAIFold {
  id: unknown
  created: unknown
  model: unknown
  object: unknown
  /** The last `usage` object the answer carried. */
  usage: Obj | undefined
  /** The first error the answer carried instead of (the rest of) its content. */
  error: Obj | undefined
  /** By choice index, in the order they first appeared. */
  readonly choices = new Map<number, FoldedChoice>()

  /** One parsed chunk (`delta`s) or document (`message`s). */
  add(chunk: Obj): void {
    if (isObj(chunk.error)) {
      this.error ??= chunk.error
      return
    }
    this.id = chunk.id ?? this.id
    this.created = chunk.created ?? this.created
    this.model = chunk.model ?? this.model
    this.object = chunk.object ?? this.object
    if (isObj(chunk.usage)) this.usage = chunk.usage
    if (!Array.isArray(chunk.choices)) return
    for (const c of chunk.choices) if (isObj(c)) this.addChoice(c)
  }

  /** The answer broke off (or was never readable): said as its error. */
  fail(message: string): void {
    this.error ??= { message }
  }

  /** The first choice (the only one, unless the request asked for several). */
  first(): FoldedChoice | undefined {
    return this.choices.values().next().value
  }

  private addChoice(c: Obj): void {
    const index = typeof c.index === "number" ? c.index : 0
    let acc = this.choices.get(index)
    if (!acc) this.choices.set(index, (acc = { text: "", tools: [], order: new Map(), finish: null }))
    const d = isObj(c.delta) ? c.delta : isObj(c.message) ? c.message : c
    const thought = reasoningOf(d)
    if (thought) acc.reasoning = (acc.reasoning ?? "") + thought
    if (typeof d.content === "string") acc.text += d.content
    if (typeof d.text === "string") acc.text += d.text
    if (Array.isArray(d.tool_calls)) d.tool_calls.forEach((t, i) => isObj(t) && addTool(acc, t, i))
    if (typeof c.finish_reason === "string" && c.finish_reason) {
      acc.finish = c.finish_reason
      acc.stopSequence = stopSequenceOf(c)
    }
  }
}

/** The reasoning a delta or message carries (`reasoning_content`, `reasoning`, Ollama's `thinking`), if any. */
export function reasoningOf(d: Obj): string | undefined {
  const thought = d.reasoning_content ?? d.reasoning ?? d.thinking
  return typeof thought === "string" && thought ? thought : undefined
}

/** Which tool call a call or fragment is: its `index`, else (in a document) its place `i` in the list. */
export const toolIndex = (t: Obj, i: number): number => (typeof t.index === "number" ? t.index : i)

/** A tool call's arguments (or a fragment of them) as text; some servers send an object. */
export function argumentsOf(fn: Obj): string {
  return typeof fn.arguments === "string" ? fn.arguments : isObj(fn.arguments) ? JSON.stringify(fn.arguments) : ""
}

/** vLLM names the stop string that matched; llama.cpp and others do not. */
export const stopSequenceOf = (c: Obj): string | undefined => (typeof c.stop_reason === "string" ? c.stop_reason : undefined)

/** A tool call or a fragment of one. */
function addTool(acc: FoldedChoice, t: Obj, i: number): void {
  const index = toolIndex(t, i)
  const fn = isObj(t.function) ? t.function : {}
  let at = acc.order.get(index)
  if (at === undefined) {
    at = acc.tools.length
    acc.order.set(index, at)
    acc.tools.push({ id: typeof t.id === "string" && t.id ? t.id : undefined, name: String(fn.name ?? ""), arguments: "" })
  }
  acc.tools[at]!.arguments += argumentsOf(fn)
}

/** The fold as the document a non-streaming request gets (or the error it carried instead). */
export function foldedDocument(fold: OpenAIFold): Obj {
  if (fold.error) return { error: fold.error }
  const chat = fold.object !== "text_completion"
  const doc: Obj = { id: fold.id, created: fold.created, model: fold.model, object: chat ? "chat.completion" : "text_completion" }
  if (fold.usage) doc.usage = fold.usage
  doc.choices = [...fold.choices.entries()].map(([index, c]) => {
    if (!chat) return { index, text: c.text, finish_reason: c.finish ?? "stop" }
    const tools = c.tools.map((t) => ({ id: t.id, type: "function", function: { name: t.name, arguments: t.arguments } }))
    const message: Obj = { role: "assistant", content: tools.length && !c.text ? null : c.text }
    if (c.reasoning !== undefined) message.reasoning_content = c.reasoning
    if (tools.length) message.tool_calls = tools
    return { index, message, finish_reason: c.finish ?? "stop" }
  })
  return doc
}
