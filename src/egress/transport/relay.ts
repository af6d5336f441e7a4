/**
 * The response body we hand to the client: upstream bytes relayed as they arrive,
 * observed on the way (first token, usage, errors), and closed cleanly on every path.
 * Client disconnect cancels this stream, which aborts the upstream request at once.
 * @module
 */
import type { EventFix } from "../providers/types.ts"
import { frameTooLarge } from "../sse-format.ts"
import { CANONICAL_WIRE, type StreamFraming } from "../../core/dialect-wire.ts"
import { createSseReader } from "./sse.ts"
import { readUsage, type Usage } from "../../core/usage.ts"
import { watch, withdraw, type Deadline } from "./deadlines.ts"
import { onAbort } from "./on-abort.ts"
import type { StreamTranslator } from "../../core/stream-translator.ts"
import { secretFilter } from "./upstream-error.ts"

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

/** Keep at most this much of a non-streaming body to read `usage` from at the end. */
const USAGE_SCAN_LIMIT = 1 << 20

export function relayBody(body: ReadableStream<Uint8Array>, opts: RelayOptions): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  const translator = opts.sse ? opts.translator : undefined
  const sse = opts.sse ? createSseReader(opts.fixEvent, opts.framing, opts.secret, translator) : undefined
  // Only a keyed backend's other bodies are read as text: everything else passes as bytes.
  const filter = !sse && opts.secret ? { text: new TextDecoder(), secret: secretFilter(opts.secret) } : undefined
  const maxFrame = opts.maxFrameBytes ?? Infinity
  const stallMs = opts.stallMs ?? Infinity
  const deadline = opts.deadline ?? Infinity
  const every = sse && opts.heartbeatMs ? opts.heartbeatMs : Infinity
  const started = performance.now()
  let firstTokenMs: number | undefined
  let bytes = 0
  let ended = false
  let controller!: ReadableStreamDefaultController<Uint8Array>
  // One timer on the shared deadline list for everything a stream waits for (keep-open,
  // heartbeat, a client that stopped reading, the request deadline), not a timer each.
  let tick: Deadline | undefined
  let keepOpenAt = opts.keepOpen ? started + KEEP_OPEN_AFTER_MS : Infinity
  let lastWrite = started
  // Progress towards the client is counted, not timed: a tick compares the count.
  let pulls = 0
  let seenPulls = 0
  let quietSince = started
  let reading = false
  let cleanBoundary = true
  const kept: Uint8Array[] = []
  let keptBytes = 0

  let unsubscribe: (() => void) | undefined

  function end(how: RelayEnd["how"], error?: string): void {
    if (ended) return
    ended = true
    withdraw(tick)
    unsubscribe?.()
    let usage = sse?.seen.usage
    if (!sse && how === "complete" && keptBytes > 0 && keptBytes <= USAGE_SCAN_LIMIT) {
      try {
        usage = readUsage(JSON.parse(decoder.decode(Buffer.concat(kept))))
      } catch {
        // Too late for another backend or a 502 (the status went out), not too late to
        // count it as the backend's failure.
        if (opts.document) {
          how = "upstream_error"
          error = "answered with a body that is not a JSON document"
        }
      }
    }
    kept.length = 0
    opts.onEnd({ how, usage, dataEvents: sse?.seen.dataEvents, firstTokenMs, error: error ?? sse?.seen.upstreamError, bytes })
  }

  /**
   * End the answer early, in the stream's own words where its format allows (a JSON
   * document cannot be ended early in its own format; a stream of events or lines can),
   * and free the upstream.
   */
  function cutShort(how: RelayEnd["how"], message: string, code: string, reason: string): void {
    if (ended) return
    try {
      if (sse || opts.framing?.lines) {
        controller.enqueue(encoder.encode(failure(message, code)))
        controller.close()
      } else controller.error(new Error(message))
    } catch {
      // already closed by the client
    }
    letGo(how, reason)
  }

  /** The stream's last words when it fails: its dialect's error (and end of stream, where it has one). */
  function failure(message: string, code: string): string {
    if (translator) return translator.error(message)
    const framing = opts.framing ?? CANONICAL_WIRE.framing
    return framing.error(message, code) + (sse ? (framing.done ?? "") : "")
  }

  /** Stop reading the backend and free the upstream, before the body's end. */
  function letGo(how: RelayEnd["how"], reason?: string): void {
    opts.abort()
    reader.cancel().catch(() => {})
    end(how, reason)
  }

  /** The client takes nothing: the connection is dropped rather than written to. */
  function stalled(): void {
    try {
      controller.error(new Error("the client stopped reading"))
    } catch {
      // already closed
    }
    letGo("client_abort", `the client read nothing for ${stallMs / 1000} s (server.client_stall_seconds)`)
  }

  function onTick(): void {
    tick = undefined
    if (ended) return
    const now = performance.now()
    if (now >= keepOpenAt) {
      keepOpenAt = Infinity
      opts.keepOpen!()
    }
    if (now >= deadline) {
      const message = "The request deadline (server.request_timeout_seconds) passed before the answer was complete."
      return cutShort("timeout", message, "upstream_timeout", "the answer was still streaming at the request deadline")
    }
    // Waiting on the backend (a pull is reading) is not the client's stall.
    if (reading || pulls !== seenPulls) {
      seenPulls = pulls
      quietSince = now
    } else if (now - quietSince >= stallMs) return stalled()
    if (now - lastWrite >= every) {
      try {
        const keepalive = translator ? translator.keepalive() : ": keep-alive\n\n"
        if (keepalive) controller.enqueue(encoder.encode(keepalive))
        lastWrite = now
      } catch {
        // stream already closed
      }
    }
    arm()
  }

  function arm(): void {
    const at = Math.min(keepOpenAt, lastWrite + every, quietSince + stallMs, deadline)
    if (at !== Infinity) tick = watch(at, onTick)
  }

  /** Read until something can be written (or the body ends): a pull that writes nothing is not called again. */
  async function relay(): Promise<void> {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>
      reading = true
      try {
        chunk = await reader.read()
      } catch (err) {
        reading = false
        if (ended) return
        const reason = describe(err)
        if (sse) {
          controller.enqueue(encoder.encode(failure(`backend ${opts.backendName} failed mid-stream: ${reason}`, "upstream_stream_error")))
          controller.close()
        } else {
          controller.error(err)
        }
        opts.abort()
        end("upstream_error", reason)
        return
      }
      reading = false
      if (ended) return
      if (chunk.done) {
        if (sse) {
          const tail = sse.finish()
          if (tail) controller.enqueue(encoder.encode(tail))
        }
        if (filter) {
          const tail = filter.secret.push(filter.text.decode()) + filter.secret.flush()
          if (tail) controller.enqueue(encoder.encode(tail))
        }
        controller.close()
        end("complete")
        return
      }
      const value = chunk.value
      bytes += value.byteLength
      if (!sse) {
        if (firstTokenMs === undefined) firstTokenMs = performance.now() - started
        if (keptBytes <= USAGE_SCAN_LIMIT) {
          kept.push(value)
          keptBytes += value.byteLength
        }
        if (!filter) {
          controller.enqueue(value)
          return
        }
        const out = filter.secret.push(filter.text.decode(value, { stream: true }))
        if (out) {
          controller.enqueue(encoder.encode(out))
          return
        }
        // All of it held back (it may end in a piece of the key): read on, or nothing pulls again.
        continue
      }
      const text = decoder.decode(value, { stream: true })
      const out = sse.push(text)
      if (firstTokenMs === undefined && sse.seen.sawData) firstTokenMs = performance.now() - started
      // Unchanged whole events on clean UTF-8 boundaries go out as the backend's own bytes.
      const clean = cleanBoundary && value[value.byteLength - 1]! < 0x80
      cleanBoundary = value[value.byteLength - 1]! < 0x80
      if (out) {
        controller.enqueue(clean && out === text ? value : encoder.encode(out))
        lastWrite = performance.now()
        return
      }
      if (sse.held > maxFrame) {
        return cutShort("upstream_error", frameTooLarge(maxFrame), "frame_too_large", `an event larger than ${maxFrame} bytes`)
      }
    }
  }

  return new ReadableStream<Uint8Array>({
    start(c) {
      controller = c
      const head = translator?.start()
      if (head) controller.enqueue(encoder.encode(head))
      if (opts.shutdown) {
        const message = "Nexus is shutting down; this answer was cut short. Retry it."
        unsubscribe = onAbort(opts.shutdown, () => cutShort("shutdown", message, "server_shutdown", "Nexus shut down before the answer was complete"))
      }
      arm()
    },

    pull() {
      pulls++
      return relay()
    },

    cancel() {
      if (ended) return
      letGo("client_abort")
    },
  })
}

function describe(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string }
  if (e?.name === "TimeoutError") return "timed out waiting for data"
  return e?.code ? `${e.code}${e.message ? `: ${e.message}` : ""}` : (e?.message ?? String(err))
}
