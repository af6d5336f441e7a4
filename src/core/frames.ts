/**
 * The one reader of event streams: bytes (or decoded text) in, whole events out, for
 * both framings a backend streams in: SSE (events end at a blank line) and NDJSON (each
 * line is one). Incremental across chunk boundaries, a multi-byte character or a CR LF
 * pair included; CR LF and lone CR become LF. In time linear in the text however large
 * one event grows: a text that completes no event is kept aside and never scanned again,
 * and the pieces of a large event are joined once, when it ends. The complete events of
 * a chunk come back as one block that is the chunk's own text when nothing was held or
 * changed, so a relay can forward unchanged events as the backend's own bytes.
 * @module
 */

/** How a stream is cut into events. */
export type Framing = "sse" | "ndjson"

export class FrameReader {
  /** Text after the last complete event, in the pieces it arrived in. */
  private pieces: string[] = []
  /** Characters held in `pieces`: the size of the event still open. */
  held = 0
  /** The last piece ended with a CR whose LF may start the next one. */
  private cr = false
  /** What ends an event. */
  private readonly sep: string
  private decoder: TextDecoder | undefined
  /** The bytes decoded so far end on a character boundary. */
  private clean = true
  /**
   * The text `decode` returned last is exactly its chunk's bytes (the chunk began and
   * ended on character boundaries), so that text can go out as those bytes.
   */
  intact = false
  /** The block `push` returned last, and where `next` reads in it. */
  private block = ""
  private at = 0

  constructor(framing: Framing = "sse") {
    this.sep = framing === "sse" ? "\n\n" : "\n"
  }

  /** A chunk of bytes as text, a character split across chunks included. */
  decode(bytes: Uint8Array): string {
    const text = (this.decoder ??= new TextDecoder()).decode(bytes, { stream: true })
    const clean = bytes[bytes.byteLength - 1]! < 0x80
    this.intact = this.clean && clean
    this.clean = clean
    return text
  }

  /**
   * Feed a chunk; returns the complete events it closes, each with its terminator, as one
   * block ("" when none), which `next` then reads event by event. When nothing was held
   * and the text ends on a boundary, that block is the (decoded) chunk itself.
   */
  push(chunk: string | Uint8Array): string {
    let text = typeof chunk === "string" ? chunk : this.decode(chunk)
    if (this.cr) {
      this.cr = false
      if (text.charCodeAt(0) === 10) text = text.slice(1)
    }
    if (text.includes("\r")) {
      this.cr = text.charCodeAt(text.length - 1) === 13
      text = text.replace(/\r\n?/g, "\n")
    }
    this.at = 0
    this.block = this.cut(text)
    return this.block
  }

  private cut(text: string): string {
    if (text.length === 0) return ""
    const sep = this.sep
    let cut = text.lastIndexOf(sep)
    if (cut !== -1) cut += sep.length
    // A blank line whose first LF ended the previous piece.
    else if (sep.length === 2 && text.charCodeAt(0) === 10 && this.endsWithLf()) cut = 1
    if (cut === -1) {
      this.pieces.push(text)
      this.held += text.length
      return ""
    }
    const done = cut === text.length ? text : text.slice(0, cut)
    const head = this.pieces.length === 0 ? done : this.take() + done
    if (cut < text.length) {
      const rest = text.slice(cut)
      this.pieces.push(rest)
      this.held = rest.length
    }
    return head
  }

  /**
   * The next event of the block `push` returned last, without its terminator, or
   * undefined after the last one. An empty event (an extra blank line) is "".
   */
  next(): string | undefined {
    const block = this.block
    const start = this.at
    if (start >= block.length) return undefined
    const end = block.indexOf(this.sep, start)
    // A lone LF after the block's last event: one more line break, not an event.
    if (end === -1) {
      this.at = block.length
      return undefined
    }
    this.at = end + this.sep.length
    return block.slice(start, end)
  }

  /** The non-empty events of a chunk. */
  *events(chunk: string | Uint8Array): Generator<string> {
    this.push(chunk)
    for (let event = this.next(); event !== undefined; event = this.next()) if (event) yield event
  }

  /** What is held (an unterminated event), emptying the reader. */
  take(): string {
    const out = this.pieces.length === 1 ? this.pieces[0]! : this.pieces.join("")
    this.pieces.length = 0
    this.held = 0
    return out
  }

  /** At the stream's end: the last event that no terminator closed ("" when none), emptying the reader. */
  end(): string {
    const tail = this.decoder?.decode()
    if (tail) this.push(tail)
    return this.take().replace(/\n+$/, "")
  }

  private endsWithLf(): boolean {
    const last = this.pieces[this.pieces.length - 1]
    return last !== undefined && last.charCodeAt(last.length - 1) === 10
  }
}

/** The data of one SSE event: its `data:` lines joined by LF, as SSE defines; undefined when it has none. */
export function eventData(event: string): string | undefined {
  const lines = event.split("\n").filter((l) => l.startsWith("data:"))
  if (!lines.length) return undefined
  return lines.map((l) => l.slice(l.charCodeAt(5) === 0x20 ? 6 : 5)).join("\n")
}

/** The name of one SSE event (its last `event:` line), if it has one. */
export function eventName(event: string): string | undefined {
  let name: string | undefined
  for (let at = event.indexOf("event:"); at !== -1; at = event.indexOf("event:", at + 6)) {
    if (at > 0 && event.charCodeAt(at - 1) !== 10) continue
    const end = event.indexOf("\n", at)
    name = event.slice(at + 6, end === -1 ? undefined : end).trim()
  }
  return name
}

/**
 * The response headers of every event stream Nexus sends: no caching, and no buffering by
 * a reverse proxy such as nginx (which would hold the events back). A fresh object each
 * call: callers add their own headers to it.
 */
export function eventStreamHeaders(): Record<string, string> {
  return { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" }
}
