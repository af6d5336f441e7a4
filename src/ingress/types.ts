/**
 * What a client dialect provides for each endpoint it serves: decoding the client's
 * body into the canonical request, and rendering errors (and, for dialects other than
 * the canonical one, answers) in the client's own shape.
 * @module
 */
import type { NexusError } from "../core/errors.ts"
import type { ContinuedConversation, Dialect, NativeConstraint, Operation, Reasoning, Requirements } from "../core/request.ts"
import type { ResponseStore } from "../persist/responses.ts"
import type { CanonicalAnswer } from "./answer.ts"
import type { StreamTranslator } from "../core/stream-translator.ts"
import type { DialectWire } from "../core/dialect-wire.ts"

/** What decoding may consult besides the body (the gateway's dependencies satisfy it). */
export interface DecodeContext {
  /** Responses Nexus keeps, for clients that continue one. */
  responses?: ResponseStore
}

export interface Decoded {
  model: string
  stream: boolean
  requirements: Requirements
  /** The request in the canonical shape; omitted by the canonical dialect (its body is it). */
  canonical?: Record<string, unknown>
  /**
   * What the canonical form leaves out (unknown fields, block types): it still reaches a
   * backend of the client's dialect, and is dropped, with a debug line, for the others.
   */
  dropped?: string[]
  reasoning?: Reasoning
  /** When the body decides the operation (Ollama's `/api/generate` with `raw` or `suffix`). */
  operation?: Operation
  /** Which backends may serve it natively (CanonicalRequest.native). */
  native?: NativeConstraint
  /** Handed to `encode` as is. */
  carry?: unknown
  /** The kept answers it continues (CanonicalRequest.continues). */
  continues?: ContinuedConversation
}

export interface EncodeContext {
  stream: boolean
  model: string
  requestId: string
  /** The prompt's estimated size, for dialects that report usage before the backend has. */
  promptTokens?: number
  /** The client wants the model's reasoning back. */
  showReasoning?: boolean
  /** What `decode` returned as `carry`. */
  carry?: unknown
  /** Privacy restricted the request (CanonicalRequest.restricted). */
  restricted?: boolean
  /** The gateway's own headers for the answer (`X-Nexus-*`): the encoder's join them. */
  headers?: Record<string, string>
}

export interface IngressEndpoint extends DialectWire {
  dialect: Dialect
  operation: Operation
  /** Validate the parsed body; throws a NexusError naming the field at fault. */
  decode(body: Record<string, unknown>, ctx?: DecodeContext): Decoded
  /** The error in this dialect's shape. */
  error(err: NexusError, headers?: Record<string, string>): Response
  /**
   * A canonical (OpenAI) answer in this dialect, streamed as it arrives. Required of every
   * dialect but the canonical one; not called when the provider answered in this dialect.
   */
  encode?(answer: CanonicalAnswer, ctx: EncodeContext): Response
  /**
   * A canonical stream rendered in this dialect while it is relayed, so each event is read
   * once for the client and the accounting. Set by every dialect that encodes streams.
   */
  translate?(ctx: EncodeContext): StreamTranslator
}
