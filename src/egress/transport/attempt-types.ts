/**
 * What an attempt is given and what it ends in, shared by the attempt, its commit and
 * the failover loop.
 * @module
 */
import type { NexusError } from "../../core/errors.ts"
import type { AttemptFeedback, Failure, RequestOutcome } from "../../core/outcome.ts"
import type { CanonicalRequest, Dialect } from "../../core/request.ts"
import type { DialectWire } from "../../core/dialect-wire.ts"
import type { StreamTranslator } from "../../core/stream-translator.ts"
import type { Fleet } from "../../fleet/fleet.ts"
import type { HeaderMap } from "./headers.ts"

export interface AttemptTiming {
  firstByteTimeoutMs: number
  /** First-byte allowance when the model is known not to be loaded yet. */
  coldFirstByteTimeoutMs: number
  /** Absolute time (performance.now() clock) after which no new attempt starts. */
  deadline: number
  heartbeatMs: number
  /** A client that reads nothing of a relayed answer for this long has left. */
  clientStallMs?: number
  /** The largest event a stream may hold open (server.max_frame_bytes). */
  maxFrameBytes?: number
  /** Aborted when Nexus stops and its grace period is over (streams end cleanly). */
  shutdown?: AbortSignal
}

export interface AttemptContext {
  request: CanonicalRequest
  clientSignal: AbortSignal
  timing: AttemptTiming
  feedback: AttemptFeedback
  /** performance.now() when forwarding started (for time to first token). */
  started: number
  /** Attempts that failed before this one. */
  failures: readonly Failure[]
  /** Lift the server's idle timeout for this request: it waits, or streams, for long. */
  keepOpen?(): void
  /** Model residency, told of attempts on models that load and unload. */
  fleet?: Fleet
  /** The client dialect's wire format: its bodies' budget field, its streams' framing. */
  wire: DialectWire
  /**
   * The client's dialect renders a canonical stream sent to `model`, as the relay reads it
   * (one parse for both the client and the accounting); unset for the canonical dialect.
   */
  translate?(model: string): StreamTranslator
}

/**
 * A committed answer before it is a Response: the gateway adds its own headers, once it
 * knows the dialect the client gets, and makes the one Response (setting headers on a
 * Response afterwards costs a guarded native call each).
 */
export interface Committed {
  status: number
  /** The backend's headers as the client may see them. */
  headers: HeaderMap
  body: ReadableStream<Uint8Array> | Uint8Array | null
  /** The dialect the body is in (the client's, or the canonical one to be encoded). */
  dialect: Dialect
  /** An answer taken whole is parsed once (for its usage): an encoder reads this, not the bytes. */
  document?: Record<string, unknown>
}

/** Everything known about the request once it has finished: now, or when its relayed body ends. */
export type Settled = RequestOutcome | Promise<RequestOutcome>

export type AttemptResult =
  /** Try the next candidate; the client saw nothing. */
  | { type: "failed"; failure: Failure }
  | { type: "client_gone" }
  /** The client gets this: a committed answer, or a final error; and the request's outcome. */
  | { type: "answered"; answer?: Committed; error?: NexusError; clamp?: number; outcome: Settled }
