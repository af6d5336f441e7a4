/**
 * Servers that ignore `stream`: a plain JSON answer to a stream request becomes a
 * well-formed OpenAI stream (one chunk with the whole delta, the finish, usage, [DONE]),
 * and a stream sent to a client that asked for JSON is assembled into one document.
 * Never relabelled: an OpenAI client reading a JSON body as SSE sees an empty stream.
 * @module
 */

import { CUT_OFF } from "../sse-format.ts"
import { FrameReader, eventData } from "../../core/frames.ts"
import { OpenAIFold, foldedDocument } from "../../core/openai-fold.ts"

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

/** A stream's chunks folded, as they arrive, into the document a non-streaming request gets. */
export class StreamAssembler {
  private readonly frames = new FrameReader()
  private readonly fold = new OpenAIFold()

  push(chunk: string | Uint8Array): void {
    for (const event of this.frames.events(chunk)) this.add(eventData(event))
  }

  /** The document, once the stream has ended (or the error it carried instead). */
  end(): Obj {
    // What no blank line ended: the body's last event, whole or cut off.
    const last = this.frames.end()
    // A last event cut off mid-way: the answer is not whole, and must not pass for it.
    if (last.trim() && !this.add(eventData(last)) && !this.fold.error) return { error: { message: CUT_OFF, type: "server_error", param: null, code: "upstream_error" } }
    return foldedDocument(this.fold)
  }

  /** One event's data into the fold; false when it is not JSON. */
  private add(data: string | undefined): boolean {
    const text = data?.trim()
    if (!text || text === "[DONE]") return true
    let chunk: unknown
    try {
      chunk = JSON.parse(text)
    } catch {
      return false
    }
    if (isObj(chunk)) this.fold.add(chunk)
    return true
  }
}

/** Fold a stream's text into the document a non-streaming request gets. */
export function assembleStream(text: string): Obj {
  const assembler = new StreamAssembler()
  assembler.push(text)
  return assembler.end()
}
