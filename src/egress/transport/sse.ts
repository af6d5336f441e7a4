/**
 * Incremental reading of an OpenAI-style SSE stream. Events are forwarded as whole
 * events, as soon as they are complete, with their original bytes; we only look
 * inside to learn time to first token, usage and errors, and to make every stream
 * end with exactly one `data: [DONE]`, whatever the backend did. A provider's own
 * quirks are fixed by its `fixEvent`, before we look.
 * @module
 */
import type { EventFix } from "../providers/types.ts"
import { CUT_OFF, dataPayload } from "../sse-format.ts"
import { CANONICAL_WIRE, type StreamFraming } from "../../core/dialect-wire.ts"
import { readUsage, type Usage } from "../../core/usage.ts"
import { redactSecret } from "./upstream-error.ts"
import { FrameReader, eventData } from "../../core/frames.ts"
import type { StreamTranslator } from "../../core/stream-translator.ts"

export interface SseObservation {
  /** A data event other than [DONE] has been seen (the first token has arrived). */
  sawData: boolean
  /**
   * Data events forwarded (other than [DONE]): about one token each, so a stream cut
   * before its usage is charged for what it relayed.
   */
  dataEvents: number
  sawDone: boolean
  usage?: Usage
  /** Message of an error event the backend sent mid-stream. */
  upstreamError?: string
}

/**
 * Split decoded text into complete events and a remainder, observing each event.
 * Returns the text to forward now (complete events, `[DONE]` de-duplicated, each fixed
 * by the provider when it has quirks).
 */
export function createSseReader(fixEvent?: EventFix, framing: StreamFraming = CANONICAL_WIRE.framing, secret?: string, translator?: StreamTranslator): SseReader {
  return new SseReader(fixEvent, framing, secret, translator)
}

export class SseReader {
  readonly seen: SseObservation = { sawData: false, sawDone: false, dataEvents: 0 }
  private readonly done: string | undefined
  private readonly frames = new FrameReader()
  /** An event lost our key: its text changed even if its length did not. */
  private redacted = false

  constructor(
    private readonly fixEvent: EventFix | undefined,
    private readonly framing: StreamFraming,
    private readonly secret: string | undefined,
    /** Set when the client gets the stream in its own dialect: each event is rendered, not forwarded. */
    private readonly translator: StreamTranslator | undefined
  ) {
    this.done = translator ? undefined : framing.done
  }

  /**
   * Feed decoded text; returns what is ready to forward (possibly ""). When every
   * complete event passes unchanged, the returned string is the input's own slice,
   * so the caller can forward the original bytes.
   */
  push(text: string): string {
    const frames = this.frames
    const buf = frames.push(text)
    if (!buf) return ""
    let out = ""
    let changed = false
    for (let event = frames.next(); event !== undefined; event = frames.next()) {
      if (event) {
        const forwarded = this.inspect(event)
        if (this.translator || forwarded.length !== event.length + 2 || this.redacted) changed = true
        this.redacted = false
        out += forwarded
      } else changed = true // an empty event (extra blank line): dropped
    }
    return changed ? out : buf
  }

  /**
   * Feed a chunk of bytes; returns what is ready to forward: the chunk itself when every
   * complete event in it passes unchanged and it splits no character, else the text.
   */
  pushBytes(value: Uint8Array): Uint8Array | string {
    const text = this.frames.decode(value)
    const out = this.push(text)
    return out && out === text && this.frames.intact ? value : out
  }

  /** Characters of the event still open (not yet complete). */
  get held(): number {
    return this.frames.held
  }

  /** End of upstream: forward a trailing unterminated event (or say its JSON was cut off), then guarantee one [DONE]. */
  finish(): string {
    let out = ""
    const pending = this.frames.end()
    if (pending.trim()) out += this.cutOff(pending) ?? this.inspect(pending)
    if (this.translator) return out + this.translator.end()
    if (this.done && !this.seen.sawDone) {
      this.seen.sawDone = true
      out += this.done
    }
    return out
  }

  private inspect(original: string): string {
    const fixed = this.fixEvent?.(original)
    if (fixed === "") {
      // A provider fix may drop an event (a usage chunk the client did not ask for): what
      // it said is still observed.
      const payload = dataPayload(original)
      if (payload !== undefined && payload.includes('"usage"')) this.observeJson(payload)
      return ""
    }
    let event = fixed ?? original
    // Whatever event quotes our key (an error that echoes the request's header) loses it.
    if (this.secret !== undefined && event.includes(this.secret)) {
      event = redactSecret(event, this.secret)
      this.redacted = true
    }
    if (this.translator) return this.translated(event, this.translator)
    const seen = this.seen
    // Fast path: one `data: {json}` line, the overwhelming majority.
    const payload = dataPayload(event)
    if (payload !== undefined) {
      if (this.done && payload === "[DONE]") {
        if (seen.sawDone) return ""
        seen.sawDone = true
        return this.done
      }
      if (seen.sawDone) return "" // nothing may follow [DONE]
      seen.sawData = true
      seen.dataEvents++
      if (payload.includes('"usage"') || payload.includes('"error"')) this.observeJson(payload)
      return `${event}\n\n`
    }
    if (seen.sawDone) return ""
    // Multi-line events (event:/id:/data: mixes) and comments pass through untouched.
    if (/^data:/m.test(event)) {
      seen.sawData = true
      seen.dataEvents++
      // Named events (Anthropic's message_start, message_delta) carry usage too.
      if (event.includes('"usage"')) this.observeJson(eventData(event) ?? "", true)
    }
    return `${event}\n\n`
  }

  /** An event of a stream the client gets in its own dialect: parsed once, observed, rendered. */
  private translated(event: string, to: StreamTranslator): string {
    const seen = this.seen
    const data = event.startsWith("data:") && !event.includes("\n") ? dataPayload(event) : eventData(event)
    if (data === undefined) return event.startsWith(":") ? to.keepalive() : ""
    if (seen.sawDone) return ""
    if (data === "[DONE]") {
      seen.sawDone = true
      return ""
    }
    seen.sawData = true
    seen.dataEvents++
    let doc: unknown
    try {
      doc = JSON.parse(data)
    } catch {
      return ""
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return ""
    this.observe(doc as Record<string, unknown>)
    return to.chunk(doc as Record<string, unknown>)
  }

  /** A last event whose JSON was cut off (the body ended inside it) is told as an error, not forwarded half. */
  private cutOff(event: string): string | undefined {
    const payload = dataPayload(event)
    if (payload === undefined || payload === "[DONE]" || this.seen.sawDone) return undefined
    try {
      JSON.parse(payload)
      return undefined
    } catch {
      this.seen.upstreamError = CUT_OFF
      return this.translator ? this.translator.error(CUT_OFF) : this.framing.error(CUT_OFF, "upstream_stream_error")
    }
  }

  /** Usage and errors from one event's JSON (only usage from named events: their errors are the dialect's own). */
  private observeJson(payload: string, usageOnly = false): void {
    try {
      this.observe(JSON.parse(payload) as Record<string, unknown>, usageOnly)
    } catch {
      // Not JSON: forwarded as is; the client decides.
    }
  }

  private observe(body: Record<string, unknown>, usageOnly = false): void {
    const usage = readUsage(body)
    // Anthropic reports input in message_start and output in message_delta: merge.
    if (usage) this.seen.usage = { ...this.seen.usage, ...definedOnly(usage) }
    if (usageOnly) return
    const e = body.error as { message?: unknown } | string | null | undefined
    if (e !== undefined && e !== null) this.seen.upstreamError = typeof e === "string" ? e : String(e.message ?? "upstream error")
  }
}

function definedOnly(u: Usage): Usage {
  return Object.fromEntries(Object.entries(u).filter(([, v]) => v !== undefined)) as Usage
}
