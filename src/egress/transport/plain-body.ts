/**
 * A relayed body that is not an event stream (a JSON document, NDJSON lines): its bytes
 * pass as they are, kept (up to a limit) to read its usage once it is complete: a
 * document's from the whole, a stream of lines' from its last line (where Ollama puts
 * its counts), so of lines only the latest are kept. A keyed backend's is read as text,
 * so the key is taken out of anything it says.
 * @module
 */
import { readUsage, type Usage } from "../../core/usage.ts"
import { secretFilter } from "./upstream-error.ts"
import { FrameReader } from "../../core/frames.ts"

/** Keep at most this much of a non-streaming body to read `usage` from at the end. */
const USAGE_SCAN_LIMIT = 1 << 20

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export class PlainBody {
  private readonly kept: Uint8Array[] = []
  private keptBytes = 0
  private readonly filter: { text: TextDecoder; secret: ReturnType<typeof secretFilter> } | undefined

  constructor(
    secret: string | undefined,
    /** Lines of JSON, each complete: the usage is on the last. */
    private readonly lines = false
  ) {
    // Only a keyed backend's bodies are read as text: everything else passes as bytes.
    this.filter = secret ? { text: new TextDecoder(), secret: secretFilter(secret) } : undefined
  }

  /** What to write for one chunk, or undefined when all of it is held back (it may end in a piece of the key). */
  push(value: Uint8Array): Uint8Array | undefined {
    if (this.lines) this.keepLatest(value)
    else if (this.keptBytes <= USAGE_SCAN_LIMIT) {
      this.kept.push(value)
      this.keptBytes += value.byteLength
    }
    if (!this.filter) return value
    const out = this.filter.secret.push(this.filter.text.decode(value, { stream: true }))
    return out ? encoder.encode(out) : undefined
  }

  /** What was held back, at the body's end. */
  tail(): string {
    const f = this.filter
    return f ? f.secret.push(f.text.decode()) + f.secret.flush() : ""
  }

  /** A stream of lines keeps its latest chunks only: enough to hold its last line. */
  private keepLatest(value: Uint8Array): void {
    this.kept.push(value)
    this.keptBytes += value.byteLength
    while (this.keptBytes > USAGE_SCAN_LIMIT && this.kept.length > 1) this.keptBytes -= this.kept.shift()!.byteLength
  }

  /** The complete body's usage; `notJson` when it was kept whole and is not JSON. */
  usage(): { usage?: Usage; notJson?: boolean } {
    if (this.keptBytes === 0 || (!this.lines && this.keptBytes > USAGE_SCAN_LIMIT)) return {}
    const bytes = Buffer.concat(this.kept)
    const text = this.lines ? lastLine(bytes) : decoder.decode(bytes)
    try {
      return { usage: readUsage(JSON.parse(text)) }
    } catch {
      return { notJson: !this.lines }
    }
  }

  release(): void {
    this.kept.length = 0
  }
}

/** The last non-empty line of NDJSON (terminated or not). */
function lastLine(bytes: Uint8Array): string {
  const lines = new FrameReader("ndjson")
  let last = ""
  for (const line of lines.events(bytes)) if (line.trim()) last = line
  const tail = lines.end()
  return tail.trim() ? tail : last
}
