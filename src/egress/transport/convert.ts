/**
 * Servers that ignore `stream`: a plain JSON answer to a stream request becomes a
 * well-formed OpenAI stream (one chunk with the whole delta, the finish, usage, [DONE]),
 * and a stream sent to a client that asked for JSON is assembled into one document.
 * Never relabelled: an OpenAI client reading a JSON body as SSE sees an empty stream.
 * @module
 */

import { CUT_OFF } from "../sse-format.ts"
import { FrameSplitter, eventData, eventsIn } from "../../core/frames.ts"

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v)

/** A chat.completion or text_completion document as the stream that would have carried it. */
export function documentAsStream(doc: Obj): string {
  const chat = doc.object !== "text_completion"
  const head = { id: doc.id, object: chat ? "chat.completion.chunk" : "text_completion", created: doc.created, model: doc.model }
  const out: string[] = []
  const choices = Array.isArray(doc.choices) ? doc.choices.filter(isObj) : []
  for (const c of choices) {
    const index = c.index ?? 0
    if (chat) {
      const m = isObj(c.message) ? c.message : {}
      const delta: Obj = { role: "assistant", content: m.content ?? null }
      if (Array.isArray(m.tool_calls) && m.tool_calls.length) delta.tool_calls = m.tool_calls.map((t, i) => (isObj(t) ? { index: i, ...t } : t))
      out.push(JSON.stringify({ ...head, choices: [{ index, delta, finish_reason: null }] }))
      out.push(JSON.stringify({ ...head, choices: [{ index, delta: {}, finish_reason: c.finish_reason ?? "stop" }] }))
    } else {
      out.push(JSON.stringify({ ...head, choices: [{ index, text: c.text ?? "", finish_reason: c.finish_reason ?? "stop" }] }))
    }
  }
  if (isObj(doc.usage)) out.push(JSON.stringify({ ...head, choices: [], usage: doc.usage }))
  return `${out.map((d) => `data: ${d}\n\n`).join("")}data: [DONE]\n\n`
}

function bodyStream(produce: () => Promise<string>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      try {
        controller.enqueue(new TextEncoder().encode(await produce()))
        controller.close()
      } catch (err) {
        controller.error(err)
      }
    },
  })
}

export function jsonAsStream(res: Response): Response {
  const headers = new Headers(res.headers)
  headers.delete("content-length")
  headers.set("content-type", "text/event-stream; charset=utf-8")
  const body = bodyStream(async () => {
    const text = await res.text()
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch {
      doc = undefined
    }
    if (!isObj(doc)) return `data: ${JSON.stringify({ error: { message: "the backend's answer was not JSON", type: "server_error", param: null, code: "upstream_error" } })}\n\ndata: [DONE]\n\n`
    return documentAsStream(doc)
  })
  return new Response(body, { status: res.status, headers })
}

/** Fold a stream's chunks into the document a non-streaming request gets. */
export function assembleStream(text: string): Obj {
  let doc: Obj = {}
  const choices = new Map<number, { text: string; tools: Obj[]; finish: unknown }>()
  const frames = new FrameSplitter()
  const events = [...eventsIn(frames.push(text))]
  // What no blank line ended: the body's last event, whole or cut off.
  const last = frames.take()
  if (last.trim()) events.push(last)
  for (let i = 0; i < events.length; i++) {
    const data = eventData(events[i]!)?.trim()
    if (!data || data === "[DONE]") continue
    let chunk: unknown
    try {
      chunk = JSON.parse(data)
    } catch {
      // A last event cut off mid-way: the answer is not whole, and must not pass for it.
      if (i === events.length - 1 && last.trim()) return { error: { message: CUT_OFF, type: "server_error", param: null, code: "upstream_error" } }
      continue
    }
    if (!isObj(chunk)) continue
    if (isObj(chunk.error)) return { error: chunk.error }
    doc = { ...doc, id: chunk.id ?? doc.id, created: chunk.created ?? doc.created, model: chunk.model ?? doc.model, object: chunk.object }
    if (isObj(chunk.usage)) doc.usage = chunk.usage
    for (const c of Array.isArray(chunk.choices) ? chunk.choices.filter(isObj) : []) {
      const i = typeof c.index === "number" ? c.index : 0
      const acc = choices.get(i) ?? { text: "", tools: [], finish: null }
      choices.set(i, acc)
      const d = isObj(c.delta) ? c.delta : c
      if (typeof d.content === "string") acc.text += d.content
      if (typeof d.text === "string") acc.text += d.text
      for (const t of Array.isArray(d.tool_calls) ? d.tool_calls.filter(isObj) : []) {
        const at = typeof t.index === "number" ? t.index : acc.tools.length
        const fn = isObj(t.function) ? t.function : {}
        const cur = (acc.tools[at] ??= { id: t.id, type: "function", function: { name: fn.name ?? "", arguments: "" } }) as { function: { arguments: string } }
        if (typeof fn.arguments === "string") cur.function.arguments += fn.arguments
      }
      if (c.finish_reason) acc.finish = c.finish_reason
    }
  }
  const chat = doc.object !== "text_completion"
  doc.object = chat ? "chat.completion" : "text_completion"
  doc.choices = [...choices.entries()].map(([index, c]) =>
    chat
      ? { index, message: { role: "assistant", content: c.tools.length && !c.text ? null : c.text, ...(c.tools.length ? { tool_calls: c.tools } : {}) }, finish_reason: c.finish ?? "stop" }
      : { index, text: c.text, finish_reason: c.finish ?? "stop" }
  )
  return doc
}
