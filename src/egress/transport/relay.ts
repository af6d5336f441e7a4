/**
 * The response body we hand to the client: upstream bytes relayed as they arrive,
 * observed on the way (first token, usage, errors), and closed cleanly on every path.
 * Client disconnect cancels this stream, which aborts the upstream request at once.
 * @module
 */
import type { EventFix } from "../providers/types.ts"
import { FRAMING, type StreamFraming } from "../sse-format.ts"
import { createSseReader } from "./sse.ts"
import { readUsage, type Usage } from "../../core/usage.ts"
import { watch, withdraw, type Deadline } from "./deadlines.ts"
import { onAbort } from "./on-abort.ts"
import { secretFilter } from "./upstream-error.ts"

export interface RelayEnd {
  /** How the body ended (`shutdown`: Nexus cut it short because it is stopping). */
  how: "complete" | "upstream_error" | "client_abort" | "shutdown"
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
  const sse = opts.sse ? createSseReader(opts.fixEvent, opts.framing, opts.secret) : undefined
  // Only a keyed backend's other bodies are read as text: everything else passes as bytes.
  const filter = !sse && opts.secret ? { text: new TextDecoder(), secret: secretFilter(opts.secret) } : undefined
  const started = performance.now()
  let firstTokenMs: number | undefined
  let bytes = 0
  let ended = false
  // Timers on the shared deadline list, not a timer per stream.
  let heartbeat: Deadline | undefined
  let keepOpen: Deadline | undefined
  let lastWrite = started
  let cleanBoundary = true
  const kept: Uint8Array[] = []
  let keptBytes = 0

  let unsubscribe: (() => void) | undefined

  function end(how: RelayEnd["how"], error?: string): void {
    if (ended) return
    ended = true
    withdraw(heartbeat)
    withdraw(keepOpen)
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

  /** Nexus is stopping: say so in the stream's own words, end it cleanly, free the upstream. */
  function cutShort(controller: ReadableStreamDefaultController<Uint8Array>): void {
    if (ended) return
    const framing = opts.framing ?? FRAMING.openai
    const message = "Nexus is shutting down; this answer was cut short. Retry it."
    try {
      // A JSON document cannot be ended early in its own format; a stream of events or lines can.
      if (sse || opts.framing === FRAMING.ollama) {
        controller.enqueue(encoder.encode(framing.error(message, "server_shutdown") + (sse ? (framing.done ?? "") : "")))
        controller.close()
      } else controller.error(new Error(message))
    } catch {
      // already closed by the client
    }
    opts.abort()
    reader.cancel().catch(() => {})
    end("shutdown", "Nexus shut down before the answer was complete")
  }

  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (opts.shutdown) unsubscribe = onAbort(opts.shutdown, () => cutShort(controller))
      if (opts.keepOpen) keepOpen = watch(started + KEEP_OPEN_AFTER_MS, opts.keepOpen)
      if (!sse || !opts.heartbeatMs) return
      const every = opts.heartbeatMs
      const beat = () => {
        if (ended) return
        if (performance.now() - lastWrite >= every) {
          try {
            controller.enqueue(encoder.encode(": keep-alive\n\n"))
            lastWrite = performance.now()
          } catch {
            // stream already closed
          }
        }
        heartbeat = watch(lastWrite + every, beat)
      }
      heartbeat = watch(started + every, beat)
    },

    async pull(controller) {
      let chunk: Awaited<ReturnType<typeof reader.read>>
      try {
        chunk = await reader.read()
      } catch (err) {
        if (ended) return
        const reason = describe(err)
        if (sse) {
          const msg = `backend ${opts.backendName} failed mid-stream: ${reason}`
          const framing = opts.framing ?? FRAMING.openai
          controller.enqueue(encoder.encode(framing.error(msg, "upstream_stream_error") + (framing.done ?? "")))
          controller.close()
        } else {
          controller.error(err)
        }
        opts.abort()
        end("upstream_error", reason)
        return
      }
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
        if (!filter) controller.enqueue(value)
        else {
          const out = filter.secret.push(filter.text.decode(value, { stream: true }))
          if (out) controller.enqueue(encoder.encode(out))
        }
        return
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
      }
    },

    cancel() {
      if (ended) return
      opts.abort()
      reader.cancel().catch(() => {})
      end("client_abort")
    },
  })
}

function describe(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string }
  if (e?.name === "TimeoutError") return "timed out waiting for data"
  return e?.code ? `${e.code}${e.message ? `: ${e.message}` : ""}` : (e?.message ?? String(err))
}
