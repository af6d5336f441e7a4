/**
 * The response body we hand to the client: upstream bytes relayed as they arrive,
 * observed on the way (first token, usage, errors), and closed cleanly on every path.
 * Client disconnect cancels this stream, which aborts the upstream request at once.
 * @module
 */
import type { EventFix } from "../providers/types.ts"
import { frameTooLarge } from "../sse-format.ts"
import { CANONICAL_WIRE, type StreamFraming } from "../../core/dialect-wire.ts"
import { createSseReader, type SseReader } from "./sse.ts"
import type { Usage } from "../../core/usage.ts"
import { watch, withdraw, type Deadline } from "./deadlines.ts"
import { onAbort } from "./on-abort.ts"
import type { StreamTranslator } from "../../core/stream-translator.ts"
import { PlainBody } from "./plain-body.ts"

export interface RelayEnd {
  /** How the body ended (`shutdown`: Nexus cut it short because it is stopping). */
  how: "complete" | "upstream_error" | "client_abort" | "shutdown" | "timeout"
  usage?: Usage
  /** SSE data events relayed (about one token each). */
  dataEvents?: number
  /** ms from relay start to the first data event (streams) or first byte (others). */
  firstTokenMs?: number
  error?: string
  bytes: number
}

export interface RelayOptions {
  sse: boolean
  /** Abort the upstream request (client went away, or we gave up). */
  abort: () => void
  /** Called exactly once, when the body is finished for whatever reason. */
  onEnd: (end: RelayEnd) => void
  /** The provider's stream quirk fix. */
  fixEvent?: EventFix
  /** The stream's dialect: how it ends and how a failure is told (default OpenAI's). */
  framing?: StreamFraming
  /**
   * Aborted when Nexus stops and its grace period is over: the stream then ends with the
   * dialect's error event and a clean end, rather than a reset connection.
   */
  shutdown?: AbortSignal
  /** Quiet time after which an SSE comment keeps the client connection alive. */
  heartbeatMs?: number
  /** Named in the error event when the backend dies mid-stream. */
  backendName: string
  /** The client asked for one JSON document (not a stream): a body that is not one is a failure. */
  document?: boolean
  /** The backend's key: taken out of anything the backend says before it goes further. */
  secret?: string
  /** Called once the body has been relayed for KEEP_OPEN_AFTER_MS: it is a long one. */
  keepOpen?: () => void
  /** performance.now() by which the whole answer must be relayed (the request deadline). */
  deadline?: number
  /** A client that takes nothing for this long has stopped reading: give up on it. */
  stallMs?: number
  /** The largest event an SSE stream may hold open before it is ended with an error. */
  maxFrameBytes?: number
  /** The client gets the (canonical SSE) stream in its own dialect: each event is rendered as it is read. */
  translator?: StreamTranslator
}

/**
 * A body still relaying after this long asks for the connection to be kept open (Bun's
 * idle timer would cut a quiet stream); doing it for every stream at its start costs
 * more than the rest of the stream's setup, and most short answers are done by then.
 */
const KEEP_OPEN_AFTER_MS = 1000

const encoder = new TextEncoder()

export function relayBody(body: ReadableStream<Uint8Array>, opts: RelayOptions): ReadableStream<Uint8Array> {
  const relay = new Relay(body, opts)
  return new ReadableStream<Uint8Array>({
    start: (c) => relay.start(c),
    pull: () => relay.pull(),
    cancel: () => relay.cancel(),
  })
}

const readerOf = (body: ReadableStream<Uint8Array>) => body.getReader()
type Reader = ReturnType<typeof readerOf>
type Chunk = Awaited<ReturnType<Reader["read"]>>

/** One relayed body's state; each method does one of its jobs. */
class Relay {
  private readonly reader: Reader
  private readonly translator: StreamTranslator | undefined
  /** The event stream's reader, or (for any other body) the bytes' tap. */
  private readonly sse: SseReader | undefined
  private readonly plain: PlainBody | undefined
  private readonly maxFrame: number
  private readonly stallMs: number
  private readonly deadline: number
  private readonly every: number
  private readonly started = performance.now()
  private firstTokenMs: number | undefined
  private bytes = 0
  private ended = false
  private controller!: ReadableStreamDefaultController<Uint8Array>
  // One timer on the shared deadline list for everything a stream waits for (keep-open,
  // heartbeat, a client that stopped reading, the request deadline), not a timer each.
  private tick: Deadline | undefined
  private keepOpenAt: number
  private lastWrite: number
  // Progress towards the client is counted, not timed: a tick compares the count.
  private pulls = 0
  private seenPulls = 0
  private quietSince: number
  private reading = false
  private unsubscribe: (() => void) | undefined
  private readonly onTick = () => this.tock()

  constructor(
    body: ReadableStream<Uint8Array>,
    private readonly opts: RelayOptions
  ) {
    this.reader = readerOf(body)
    this.translator = opts.sse ? opts.translator : undefined
    this.sse = opts.sse ? createSseReader(opts.fixEvent, opts.framing, opts.secret, this.translator) : undefined
    this.plain = opts.sse ? undefined : new PlainBody(opts.secret, opts.framing?.lines === true && !opts.document)
    this.maxFrame = opts.maxFrameBytes ?? Infinity
    this.stallMs = opts.stallMs ?? Infinity
    this.deadline = opts.deadline ?? Infinity
    this.every = opts.sse && opts.heartbeatMs ? opts.heartbeatMs : Infinity
    this.keepOpenAt = opts.keepOpen ? this.started + KEEP_OPEN_AFTER_MS : Infinity
    this.lastWrite = this.started
    this.quietSince = this.started
  }

  start(c: ReadableStreamDefaultController<Uint8Array>): void {
    this.controller = c
    const head = this.translator?.start()
    if (head) c.enqueue(encoder.encode(head))
    if (this.opts.shutdown) {
      const message = "Nexus is shutting down; this answer was cut short. Retry it."
      this.unsubscribe = onAbort(this.opts.shutdown, () => this.cutShort("shutdown", message, "server_shutdown", "Nexus shut down before the answer was complete"))
    }
    this.arm()
  }

  pull(): Promise<void> {
    this.pulls++
    return this.relay()
  }

  cancel(): void {
    if (!this.ended) this.letGo("client_abort")
  }

  private end(how: RelayEnd["how"], error?: string): void {
    if (this.ended) return
    this.ended = true
    withdraw(this.tick)
    this.unsubscribe?.()
    const sse = this.sse
    let usage = sse?.seen.usage
    if (this.plain && how === "complete") {
      const read = this.plain.usage()
      usage = read.usage
      // Too late for another backend or a 502 (the status went out), not too late to
      // count it as the backend's failure.
      if (read.notJson && this.opts.document) {
        how = "upstream_error"
        error = "answered with a body that is not a JSON document"
      }
    }
    this.plain?.release()
    this.opts.onEnd({ how, usage, dataEvents: sse?.seen.dataEvents, firstTokenMs: this.firstTokenMs, error: error ?? sse?.seen.upstreamError, bytes: this.bytes })
  }

  /**
   * End the answer early, in the stream's own words where its format allows (a JSON
   * document cannot be ended early in its own format; a stream of events or lines can),
   * and free the upstream.
   */
  private cutShort(how: RelayEnd["how"], message: string, code: string, reason: string): void {
    if (this.ended) return
    try {
      if (this.sse || this.opts.framing?.lines) {
        this.controller.enqueue(encoder.encode(this.failure(message, code)))
        this.controller.close()
      } else this.controller.error(new Error(message))
    } catch {
      // already closed by the client
    }
    this.letGo(how, reason)
  }

  /** The stream's last words when it fails: its dialect's error (and end of stream, where it has one). */
  private failure(message: string, code: string): string {
    if (this.translator) return this.translator.error(message)
    const framing = this.opts.framing ?? CANONICAL_WIRE.framing
    return framing.error(message, code) + (this.sse ? (framing.done ?? "") : "")
  }

  /** Stop reading the backend and free the upstream, before the body's end. */
  private letGo(how: RelayEnd["how"], reason?: string): void {
    this.opts.abort()
    this.reader.cancel().catch(() => {})
    this.end(how, reason)
  }

  /** The client takes nothing: the connection is dropped rather than written to. */
  private stalled(): void {
    try {
      this.controller.error(new Error("the client stopped reading"))
    } catch {
      // already closed
    }
    this.letGo("client_abort", `the client read nothing for ${this.stallMs / 1000} s (server.client_stall_seconds)`)
  }

  private tock(): void {
    this.tick = undefined
    if (this.ended) return
    const now = performance.now()
    if (now >= this.keepOpenAt) {
      this.keepOpenAt = Infinity
      this.opts.keepOpen!()
    }
    if (now >= this.deadline) {
      const message = "The request deadline (server.request_timeout_seconds) passed before the answer was complete."
      return this.cutShort("timeout", message, "upstream_timeout", "the answer was still streaming at the request deadline")
    }
    // Waiting on the backend (a pull is reading) is not the client's stall.
    if (this.reading || this.pulls !== this.seenPulls) {
      this.seenPulls = this.pulls
      this.quietSince = now
    } else if (now - this.quietSince >= this.stallMs) return this.stalled()
    if (now - this.lastWrite >= this.every) this.heartbeat(now)
    this.arm()
  }

  private heartbeat(now: number): void {
    try {
      const keepalive = this.translator ? this.translator.keepalive() : ": keep-alive\n\n"
      if (keepalive) this.controller.enqueue(encoder.encode(keepalive))
      this.lastWrite = now
    } catch {
      // stream already closed
    }
  }

  private arm(): void {
    const at = Math.min(this.keepOpenAt, this.lastWrite + this.every, this.quietSince + this.stallMs, this.deadline)
    if (at !== Infinity) this.tick = watch(at, this.onTick)
  }

  /** Read until something can be written (or the body ends): a pull that writes nothing is not called again. */
  private async relay(): Promise<void> {
    for (;;) {
      let chunk: Chunk
      this.reading = true
      try {
        chunk = await this.reader.read()
      } catch (err) {
        this.reading = false
        return this.broke(err)
      }
      this.reading = false
      if (this.ended) return
      if (chunk.done) return this.complete()
      const value = chunk.value
      this.bytes += value.byteLength
      if (this.sse ? this.event(value) : this.passBytes(value)) return
    }
  }

  /** The backend's body broke off: the client is told in the stream's words where it can be. */
  private broke(err: unknown): void {
    if (this.ended) return
    const reason = describe(err)
    if (this.sse) {
      this.controller.enqueue(encoder.encode(this.failure(`backend ${this.opts.backendName} failed mid-stream: ${reason}`, "upstream_stream_error")))
      this.controller.close()
    } else {
      this.controller.error(err)
    }
    this.opts.abort()
    this.end("upstream_error", reason)
  }

  private complete(): void {
    const tail = this.sse ? this.sse.finish() : this.plain!.tail()
    if (tail) this.controller.enqueue(encoder.encode(tail))
    this.controller.close()
    this.end("complete")
  }

  /** A chunk of a body that is not an event stream; true once something was written. */
  private passBytes(value: Uint8Array): boolean {
    if (this.firstTokenMs === undefined) this.firstTokenMs = performance.now() - this.started
    const out = this.plain!.push(value)
    // All of it held back (it may end in a piece of the key): read on, or nothing pulls again.
    if (!out) return false
    this.controller.enqueue(out)
    return true
  }

  /** A chunk of an event stream; true once something was written (or the stream was cut). */
  private event(value: Uint8Array): boolean {
    const sse = this.sse!
    // Unchanged whole events on clean UTF-8 boundaries come back as the backend's own bytes.
    const out = sse.pushBytes(value)
    if (this.firstTokenMs === undefined && sse.seen.sawData) this.firstTokenMs = performance.now() - this.started
    if (out) {
      this.controller.enqueue(typeof out === "string" ? encoder.encode(out) : out)
      this.lastWrite = performance.now()
      return true
    }
    if (sse.held <= this.maxFrame) return false
    this.cutShort("upstream_error", frameTooLarge(this.maxFrame), "frame_too_large", `an event larger than ${this.maxFrame} bytes`)
    return true
  }
}

function describe(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string }
  if (e?.name === "TimeoutError") return "timed out waiting for data"
  return e?.code ? `${e.code}${e.message ? `: ${e.message}` : ""}` : (e?.message ?? String(err))
}
