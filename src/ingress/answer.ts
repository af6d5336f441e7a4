/**
 * Reading a canonical (OpenAI) answer, whatever form it came in (an SSE stream, or a
 * plain JSON body from a server that ignored `stream`), as one sequence of events that
 * every other dialect renders in its own shape. One reader for N dialects: a backend that
 * answered a stream request with JSON (or the reverse) is converted, never relabelled.
 * @module
 */
import type { Usage } from "../core/usage.ts"
import { readUsage } from "../core/usage.ts"
import { FrameReader, eventData } from "../core/frames.ts"
import { OpenAIFold, argumentsOf, reasoningOf, stopSequenceOf, toolIndex } from "../core/openai-fold.ts"
import type { StreamTranslator } from "../core/stream-translator.ts"

export type AnswerEvent =
  | { type: "text"; text: string }
  /** The model's reasoning (`reasoning_content`, `reasoning`, Ollama's `thinking`), before its answer. */
  | { type: "reasoning"; text: string }
  /** A tool call begins (OpenAI's `index` says which one later fragments belong to). */
  | { type: "tool"; index: number; id: string; name: string }
  | { type: "tool_args"; index: number; fragment: string }
  /** `stop`, `length`, `tool_calls`, `content_filter`; `stopSequence` when the server says which one matched. */
  | { type: "finish"; reason: string; stopSequence?: string }
  /** `cached`: prompt tokens the server's prompt cache held, when it says (`prompt_tokens_details`). */
  | { type: "usage"; usage: Usage; cached?: number }
  /** The answer failed part way (a mid-stream error event, or the upstream body broke). */
  | { type: "error"; message: string }
  /** A keep-alive comment from the relay during a long wait: each dialect keeps its client waiting its own way. */
  | { type: "keepalive" }

/** A whole answer, for clients that asked for one JSON document. */
export interface Answer {
  text: string
  reasoning?: string
  tools: { id: string; name: string; arguments: string }[]
  finish: string | null
  stopSequence?: string
  usage?: Usage
  cached?: number
  error?: string
}

/**
 * A canonical answer as egress committed it: a body still to be read, or one taken whole
 * and already parsed (so it is not parsed again to be encoded).
 */
export type CanonicalAnswer = Response | { document: Record<string, unknown> }

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v)

/** Events of one parsed OpenAI chunk or document (`message` in a document, `delta` in a chunk). */
function eventsOf(doc: Obj, seen: Set<number>): AnswerEvent[] {
  const out: AnswerEvent[] = []
  if (isObj(doc.error)) {
    out.push({ type: "error", message: String(doc.error.message ?? "upstream error") })
    return out
  }
  const choice = Array.isArray(doc.choices) && isObj(doc.choices[0]) ? doc.choices[0] : undefined
  if (choice) {
    const msg = isObj(choice.delta) ? choice.delta : isObj(choice.message) ? choice.message : undefined
    const thought = msg && reasoningOf(msg)
    if (thought) out.push({ type: "reasoning", text: thought })
    const text = msg ? msg.content : choice.text
    if (typeof text === "string" && text) out.push({ type: "text", text })
    const calls = msg && Array.isArray(msg.tool_calls) ? msg.tool_calls : []
    calls.forEach((call, i) => {
      if (!isObj(call)) return
      const index = toolIndex(call, i)
      const fn = isObj(call.function) ? call.function : {}
      if (!seen.has(index)) {
        seen.add(index)
        out.push({ type: "tool", index, id: callId(call.id), name: String(fn.name ?? "") })
      }
      const fragment = argumentsOf(fn)
      if (fragment) out.push({ type: "tool_args", index, fragment })
    })
    if (typeof choice.finish_reason === "string" && choice.finish_reason) out.push({ type: "finish", reason: choice.finish_reason, stopSequence: stopSequenceOf(choice) })
  }
  const usage = readUsage(doc)
  if (usage) out.push({ type: "usage", usage, cached: cachedTokens(doc.usage) })
  return out
}

/** The server's id for a tool call, or one made up (every dialect's clients need one). */
function callId(id: unknown): string {
  return typeof id === "string" && id ? id : `call_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`
}

function cachedTokens(usage: unknown): number | undefined {
  const details = isObj(usage) ? usage.prompt_tokens_details : undefined
  const n = isObj(details) ? details.cached_tokens : undefined
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : undefined
}

/** What reading an answer's body gives: a parsed chunk (or the whole document), or an event of the reading itself. */
type Read = { doc: Obj } | { event: AnswerEvent }

/**
 * The answer's chunks as they arrive. `cancel` stops reading (the client left): it
 * cancels the upstream body, which releases the backend slot.
 */
function readChunks(res: Response): { reads: AsyncGenerator<Read>; cancel(): void } {
  const reader = res.body?.getReader()
  const sse = (res.headers.get("content-type") ?? "").includes("text/event-stream")
  async function* reads(): AsyncGenerator<Read> {
    if (!reader) return
    // A whole JSON document is only parsed at its end; events are cut as they complete.
    const frames = new FrameReader()
    const parts: string[] = []
    try {
      for (;;) {
        let chunk
        try {
          chunk = await reader.read()
        } catch (err) {
          yield { event: { type: "error", message: `the backend's answer broke off: ${(err as Error)?.message ?? String(err)}` } }
          return
        }
        if (chunk.done) break
        if (!sse) {
          parts.push(frames.decode(chunk.value))
          continue
        }
        for (const event of frames.events(chunk.value)) {
          const data = eventData(event)
          if (!data && event.startsWith(":")) yield { event: { type: "keepalive" } }
          if (!data || data === "[DONE]") continue
          let doc: unknown
          try {
            doc = JSON.parse(data)
          } catch {
            continue
          }
          if (isObj(doc)) yield { doc }
        }
      }
      if (sse) {
        const data = eventData(frames.end().trim())
        const last = data && data !== "[DONE]" ? parsed(data) : undefined
        if (last) yield last
      } else {
        const text = parts.join("") + frames.end()
        const whole = text.trim() ? parsed(text) : undefined
        if (whole) yield whole
      }
    } finally {
      reader.releaseLock?.()
    }
  }
  return {
    reads: reads(),
    cancel: () => {
      reader?.cancel().catch(() => {})
    },
  }
}

/** The last chunk or the whole document; undefined for JSON that is not an object. */
function parsed(text: string): Read | undefined {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return { event: { type: "error", message: "the backend's answer was not valid JSON" } }
  }
  return isObj(doc) ? { doc } : undefined
}

/** The answer's events as they arrive; `cancel` as for its chunks. */
function readAnswer(res: Response): { events: AsyncGenerator<AnswerEvent>; cancel(): void } {
  const { reads, cancel } = readChunks(res)
  async function* events(): AsyncGenerator<AnswerEvent> {
    const seen = new Set<number>()
    for await (const r of reads) {
      if ("doc" in r) yield* eventsOf(r.doc, seen)
      else yield r.event
    }
  }
  return { events: events(), cancel }
}

/** A folded answer as the whole answer the dialects' encoders render (its first choice). */
function answerOf(fold: OpenAIFold): Answer {
  const c = fold.first()
  const answer: Answer = { text: c?.text ?? "", tools: [], finish: c?.finish ?? null }
  if (c?.reasoning !== undefined) answer.reasoning = c.reasoning
  for (const t of c?.tools ?? []) answer.tools.push({ id: callId(t.id), name: t.name, arguments: t.arguments })
  if (c?.stopSequence !== undefined) answer.stopSequence = c.stopSequence
  const usage = fold.usage && readUsage({ usage: fold.usage })
  if (usage) {
    answer.usage = usage
    answer.cached = cachedTokens(fold.usage)
  }
  if (fold.error) answer.error = String(fold.error.message ?? "upstream error")
  return answer
}

/** The answer as a body to read (a document taken whole is read as the JSON it was). */
export function asResponse(answer: CanonicalAnswer): Response {
  return answer instanceof Response ? answer : Response.json(answer.document)
}

/** A parsed document as a whole answer. */
function documentAnswer(doc: Obj): Answer {
  const fold = new OpenAIFold()
  fold.add(doc)
  return answerOf(fold)
}

/**
 * The encoder's response: `own` headers (its content type) join the gateway's, when the
 * gateway gives its own (they then travel on the one Response made).
 */
export function encodedHeaders(own: Record<string, string>, gateway: Record<string, string> | undefined): Record<string, string> {
  return gateway ? Object.assign(gateway, own) : own
}

/** A whole answer as one JSON document: at once when egress parsed it already, else once read. */
export function wholeResponse(answer: CanonicalAnswer, render: (a: Answer) => unknown, headers: Record<string, string>): Response {
  if (answer instanceof Response) return new Response(renderWhole(answer, render), { status: 200, headers })
  return new Response(JSON.stringify(render(documentAnswer(answer.document))), { status: 200, headers })
}

/** Tool-call arguments as an object (Anthropic's `input`, Ollama's `arguments`). */
export function parseArgs(text: string): Record<string, unknown> {
  if (!text.trim()) return {}
  try {
    const v = JSON.parse(text)
    return isObj(v) ? v : { value: v }
  } catch {
    return { _raw: text }
  }
}

/** What renders a canonical answer's events in a dialect's stream. */
export interface StreamRenderer {
  start?(): string
  event(ev: AnswerEvent): string
  end(): string
}

/** A dialect's renderer fed with the chunks the relay parsed (each read once, where it is relayed). */
export function translator(r: StreamRenderer, headers: Record<string, string>): StreamTranslator {
  const seen = new Set<number>()
  return {
    headers,
    start: () => r.start?.() ?? "",
    chunk(doc) {
      let out = ""
      for (const ev of eventsOf(doc, seen)) out += r.event(ev)
      return out
    },
    keepalive: () => r.event({ type: "keepalive" }),
    error: (message) => r.event({ type: "error", message }),
    end: () => r.end(),
  }
}

/**
 * A response body that writes each event's rendering as it arrives: `r.event` renders
 * one event, `r.end` what follows the last. Cancelling (the client left) cancels the
 * upstream body.
 */
export function renderStream(res: Response, r: StreamRenderer): ReadableStream<Uint8Array> {
  const { events, cancel } = readAnswer(res)
  const enc = new TextEncoder()
  let started = false
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true
        const head = r.start?.()
        if (head) {
          controller.enqueue(enc.encode(head))
          return
        }
      }
      // Pull events until one renders to something, so each pull writes.
      for (;;) {
        const next = await events.next()
        if (next.done) {
          const tail = r.end()
          if (tail) controller.enqueue(enc.encode(tail))
          controller.close()
          return
        }
        const text = r.event(next.value)
        if (text) {
          controller.enqueue(enc.encode(text))
          return
        }
      }
    },
    cancel() {
      cancel()
    },
  })
}

/** A whole answer rendered once it is complete (a client that asked for one JSON document). */
function renderWhole(res: Response, render: (a: Answer) => unknown): ReadableStream<Uint8Array> {
  const { reads, cancel } = readChunks(res)
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      const fold = new OpenAIFold()
      for await (const r of reads) {
        if ("doc" in r) fold.add(r.doc)
        else if (r.event.type === "error") fold.fail(r.event.message)
      }
      controller.enqueue(new TextEncoder().encode(JSON.stringify(render(answerOf(fold)))))
      controller.close()
    },
    cancel() {
      cancel()
    },
  })
}

/** Rough token count of a text: four characters a token, the estimate used when no backend counts. */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4)
}
