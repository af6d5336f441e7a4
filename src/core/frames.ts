/**
 * Cutting decoded stream text into whole frames (SSE events end at a blank line) in time
 * linear in the text, however large one frame grows: a text that completes no frame is
 * kept aside and never scanned again, and the pieces of a large frame are joined once,
 * when it ends. CR LF and lone CR become LF, also when a CR LF pair is split across chunks.
 * One reader of an event's data serves both sides (the relay's observer, the encoders' reader).
 * @module
 */

export class FrameSplitter {
  /** Text after the last complete frame, in the pieces it arrived in. */
  private pieces: string[] = []
  /** Characters held in `pieces`: the size of the frame still open. */
  held = 0
  /** The last piece ended with a CR whose LF may start the next one. */
  private cr = false

  /**
   * Feed decoded text; returns the complete frames it closes, each with its terminator,
   * as one string ("" when none). When nothing was held and the text ends on a boundary,
   * that string is `text` itself.
   */
  push(text: string): string {
    if (this.cr) {
      this.cr = false
      if (text.charCodeAt(0) === 10) text = text.slice(1)
    }
    if (text.includes("\r")) {
      this.cr = text.charCodeAt(text.length - 1) === 13
      text = text.replace(/\r\n?/g, "\n")
    }
    if (text.length === 0) return ""
    let cut = text.lastIndexOf("\n\n")
    if (cut !== -1) cut += 2
    // A "\n\n" whose first LF ended the previous piece.
    else if (text.charCodeAt(0) === 10 && this.endsWithLf()) cut = 1
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

  /** What is held (an unterminated frame), emptying the splitter. */
  take(): string {
    const out = this.pieces.length === 1 ? this.pieces[0]! : this.pieces.join("")
    this.pieces.length = 0
    this.held = 0
    return out
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

/** The events in what `push` returned, each without its blank line. */
export function* eventsIn(done: string): Generator<string> {
  let start = 0
  for (let cut = done.indexOf("\n\n"); cut !== -1; cut = done.indexOf("\n\n", start)) {
    yield done.slice(start, cut)
    start = cut + 2
  }
}
