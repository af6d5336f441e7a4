/**
 * Reading a canonical (OpenAI) answer, whatever form it came in (an SSE stream, or a
 * plain JSON body from a server that ignored `stream`), as one sequence of events that
 * every other dialect renders in its own shape. One reader for N dialects: a backend that
 * answered a stream request with JSON (or the reverse) is converted, never relabelled.
 * @module
 */
import type { Usage } from "../core/usage.ts"
import { readUsage } from "../core/usage.ts"
import { FrameSplitter, eventData, eventsIn } from "../core/frames.ts"
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
    const thought = msg ? (msg.reasoning_content ?? msg.reasoning ?? msg.thinking) : undefined
    if (typeof thought === "string" && thought) out.push({ type: "reasoning", text: thought })
    const text = msg ? msg.content : choice.text
    if (typeof text === "string" && text) out.push({ type: "text", text })
    const calls = msg && Array.isArray(msg.tool_calls) ? msg.tool_calls : []
    calls.forEach((call, i) => {
      if (!isObj(call)) return
      const index = typeof call.index === "number" ? call.index : i
      const fn = isObj(call.function) ? call.function : {}
      if (!seen.has(index)) {
        seen.add(index)
        const id = typeof call.id === "string" && call.id ? call.id : `call_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`
        out.push({ type: "tool", index, id, name: String(fn.name ?? "") })
      }
      if (typeof fn.arguments === "string" && fn.arguments) out.push({ type: "tool_args", index, fragment: fn.arguments })
      else if (isObj(fn.arguments)) out.push({ type: "tool_args", index, fragment: JSON.stringify(fn.arguments) })
    })
    if (typeof choice.finish_reason === "string" && choice.finish_reason) {
      // vLLM names the stop string that matched; llama.cpp and others do not.
      const stopSequence = typeof choice.stop_reason === "string" ? choice.stop_reason : undefined
      out.push({ type: "finish", reason: choice.finish_reason, stopSequence })
    }
  }
  const usage = readUsage(doc)
  if (usage) out.push({ type: "usage", usage, cached: cachedTokens(doc.usage) })
  return out
}

function cachedTokens(usage: unknown): number | undefined {
  const details = isObj(usage) ? usage.prompt_tokens_details : undefined
  const n = isObj(details) ? details.cached_tokens : undefined
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : undefined
}

/**
 * The answer's events as they arrive. `cancel` stops reading (the client left): it
 * cancels the upstream body, which releases the backend slot.
 */
export function readAnswer(res: Response): { events: AsyncGenerator<AnswerEvent>; cancel(): void } {
  const body = res.body
  const reader = body?.getReader()
  const sse = (res.headers.get("content-type") ?? "").includes("text/event-stream")
  async function* events(): AsyncGenerator<AnswerEvent> {
    if (!reader) return
    const decoder = new TextDecoder()
    const seen = new Set<number>()
    // A whole JSON document is only parsed at its end; events are cut as they complete.
    const frames = sse ? new FrameSplitter() : undefined
    let buf = ""
    try {
      for (;;) {
        let chunk
        try {
          chunk = await reader.read()
        } catch (err) {
          yield { type: "error", message: `the backend's answer broke off: ${(err as Error)?.message ?? String(err)}` }
          return
        }
        if (chunk.done) break
        const text = decoder.decode(chunk.value, { stream: true })
        if (!frames) {
          buf += text
          continue
        }
        for (const event of eventsIn(frames.push(text))) {
          const data = eventData(event)
          if (!data && event.startsWith(":")) yield { type: "keepalive" }
          if (!data || data === "[DONE]") continue
          let doc: unknown
          try {
            doc = JSON.parse(data)
          } catch {
            continue
          }
          if (isObj(doc)) yield* eventsOf(doc, seen)
        }
      }
      buf += decoder.decode()
      if (frames) {
        const data = eventData((frames.take() + buf).trim())
        if (data && data !== "[DONE]") yield* parsed(data, seen)
      } else if (buf.trim()) {
        yield* parsed(buf, seen)
      }
    } finally {
      reader.releaseLock?.()
    }
  }
  return {
    events: events(),
    cancel: () => {
      reader?.cancel().catch(() => {})
    },
  }
}

function* parsed(text: string, seen: Set<number>): Generator<AnswerEvent> {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    yield { type: "error", message: "the backend's answer was not valid JSON" }
    return
  }
  if (isObj(doc)) yield* eventsOf(doc, seen)
}

/** Fold events into a whole answer. */
export function collect(into: Answer, ev: AnswerEvent, order: Map<number, number>): void {
  switch (ev.type) {
    case "text":
      into.text += ev.text
      break
    case "reasoning":
      into.reasoning = (into.reasoning ?? "") + ev.text
      break
    case "tool":
      order.set(ev.index, into.tools.length)
      into.tools.push({ id: ev.id, name: ev.name, arguments: "" })
      break
    case "tool_args": {
      const at = order.get(ev.index)
      if (at !== undefined) into.tools[at]!.arguments += ev.fragment
      break
    }
    case "finish":
      into.finish = ev.reason
      into.stopSequence = ev.stopSequence
      break
    case "usage":
      into.usage = ev.usage
      into.cached = ev.cached
      break
    case "error":
      into.error = ev.message
      break
    case "keepalive":
  }
}

/** The answer as a body to read (a document taken whole is read as the JSON it was). */
export function asResponse(answer: CanonicalAnswer): Response {
  return answer instanceof Response ? answer : Response.json(answer.document)
}

/** A parsed document as a whole answer. */
function answerOf(doc: Obj): Answer {
  const answer: Answer = { text: "", tools: [], finish: null }
  const order = new Map<number, number>()
  for (const ev of eventsOf(doc, new Set())) collect(answer, ev, order)
  return answer
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
  return new Response(JSON.stringify(render(answerOf(answer.document))), { status: 200, headers })
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
 * A response body that writes each event's rendering as it arrives. `render` returns the
 * text for an event; `end` the text after the last one. Cancelling (the client left)
 * cancels the upstream body.
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
export function renderWhole(res: Response, render: (a: Answer) => unknown): ReadableStream<Uint8Array> {
  const { events, cancel } = readAnswer(res)
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      const answer: Answer = { text: "", tools: [], finish: null }
      const order = new Map<number, number>()
      for await (const ev of events) collect(answer, ev, order)
      controller.enqueue(new TextEncoder().encode(JSON.stringify(render(answer))))
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
