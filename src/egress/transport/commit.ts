/**
 * A success status: from here on the client gets this backend's answer, relayed as it
 * arrives or, when small, taken whole. Either way the attempt's slot is settled once, and
 * the request's outcome is returned with the answer (a relayed one's when its body ends).
 * @module
 */
import { eventStreamHeaders } from "../../core/frames.ts"
import { NexusError } from "../../core/errors.ts"
import type { AttemptReport, RequestOutcome } from "../../core/outcome.ts"
import type { Attempt } from "../../routing/router.ts"
import type { Exchange } from "../exchange.ts"
import { CANONICAL_WIRE } from "../../core/dialect-wire.ts"
import { describeFetchError } from "../providers/http.ts"
import type { UpstreamAbort } from "./upstream-abort.ts"
import { downstreamHeaders, type HeaderMap } from "./headers.ts"
import { relayBody, type RelayEnd } from "./relay.ts"
import { redactSecret, secretOf } from "./upstream-error.ts"
import { findUsageInBytes } from "./usage-bytes.ts"
import { readUsage } from "../../core/usage.ts"
import { documentOf, notJsonReason } from "./whole-answer.ts"
import type { AttemptContext, AttemptResult, Committed } from "./attempt-types.ts"

/** Non-streaming bodies up to this size (declared by content-length) are taken whole. */
const WHOLE_BODY_LIMIT = 1 << 20

export type Settle = (report: Omit<AttemptReport, "backend">) => void

export interface CommitState {
  upstream: UpstreamAbort
  sent: number
  settle: Settle
  exchange: Exchange
  clamp: number | undefined
}

/**
 * A success status: from here on the client gets this backend's answer. Not async: only
 * a whole answer waits (in `whole`), and an async frame per request is not free.
 */
export function commit(ctx: AttemptContext, attempt: Attempt, res: Response, given: HeaderMap, st: CommitState): AttemptResult | Promise<AttemptResult> {
  const backend = attempt.backend
  const where = whereOf(attempt)
  const contentType = given["content-type"] ?? ""
  const dialect = st.exchange.dialect
  // A stream is SSE unless the server says it is JSON lines (Ollama's native API).
  const sse = contentType.includes("text/event-stream") || (ctx.request.stream && !contentType.includes("json"))
  const headers = downstreamHeaders(given)
  if (sse) Object.assign(headers, eventStreamHeaders())
  const headersMs = performance.now() - st.sent

  if (!res.body) {
    st.settle({ verdict: "success", latencyMs: sse ? undefined : headersMs })
    const outcome: RequestOutcome = { status: res.status, ...where, clientAborted: false, midStreamError: false, ttftMs: performance.now() - ctx.started, failures: ctx.failures }
    return { type: "answered", answer: { status: res.status, headers, body: null, dialect }, clamp: st.clamp, outcome }
  }

  // A non-streaming answer is one JSON document the backend writes when generation is
  // done. When it declares a small length, take it whole: usage is read and the slot
  // released at native speed, and Bun sends it with its length. Anything else (no
  // length, large, or a stream) is relayed chunk by chunk.
  const length = Number(given["content-length"] ?? Number.NaN)
  if (!sse && length >= 0 && length <= WHOLE_BODY_LIMIT) return whole(ctx, attempt, res, headers, headersMs, st)
  const framing = dialect === ctx.request.dialect ? ctx.wire.framing : CANONICAL_WIRE.framing
  // A canonical stream for a client of another dialect is rendered in the client's as it is relayed.
  const translator = sse && ctx.request.stream && dialect !== ctx.request.dialect ? ctx.translate?.(attempt.model) : undefined

  const relayStart = performance.now()
  let ended!: (outcome: RequestOutcome) => void
  const outcome = new Promise<RequestOutcome>((resolve) => (ended = resolve))
  const stream = relayBody(res.body, {
    sse,
    fixEvent: st.exchange.fixEvent,
    framing,
    translator,
    backendName: backend.name,
    secret: secretOf(backend.apiKey),
    document: !sse && !ctx.request.stream,
    keepOpen: ctx.keepOpen,
    heartbeatMs: ctx.timing.heartbeatMs,
    shutdown: ctx.timing.shutdown,
    deadline: ctx.timing.deadline,
    stallMs: ctx.timing.clientStallMs,
    maxFrameBytes: ctx.timing.maxFrameBytes,
    abort: () => st.upstream.controller.abort(),
    onEnd(end: RelayEnd) {
      const failed = end.how === "upstream_error"
      // Our own deadline or stop says nothing about the backend.
      const neutral = end.how === "shutdown" || end.how === "timeout"
      const tokenMs = end.firstTokenMs === undefined ? undefined : relayStart - st.sent + end.firstTokenMs
      st.settle(
        failed
          ? { verdict: "failure", reason: `died mid-stream: ${end.error ?? "unknown"}` }
          : neutral
            ? { verdict: "neutral" }
            : { verdict: "success", latencyMs: sse ? tokenMs : headersMs }
      )
      ended({
        status: res.status,
        ...where,
        ttftMs: end.firstTokenMs === undefined ? undefined : relayStart - ctx.started + end.firstTokenMs,
        usage: end.usage,
        // A stream that did not end with its usage is charged what it relayed.
        relayedTokens: end.how === "complete" && end.usage ? undefined : end.dataEvents,
        error: end.error,
        clientAborted: end.how === "client_abort",
        midStreamError: failed || end.how === "timeout",
        failures: ctx.failures,
      })
    },
  })
  const answer: Committed = translator
    ? { status: 200, headers: translator.headers, body: stream, dialect: ctx.request.dialect }
    : { status: res.status, headers, body: stream, dialect }
  return { type: "answered", answer, clamp: st.clamp, outcome }
}

/** Where an outcome's answer came from: the attempt's backend and model. */
function whereOf(attempt: Attempt): Pick<RequestOutcome, "backend" | "model" | "fallbackFrom"> {
  return { backend: attempt.backend, model: attempt.model, fallbackFrom: attempt.fallbackFrom }
}

/** Buffer's native search on the answer's own bytes (no copy, no decoding). */
function bytesInclude(bytes: Uint8Array, text: string): boolean {
  return Buffer.prototype.indexOf.call(bytes, text) >= 0
}

/** Take a small answer whole; the gateway's headers go on once its outcome (and cost) is known. */
async function whole(ctx: AttemptContext, attempt: Attempt, res: Response, headers: HeaderMap, headersMs: number, st: CommitState): Promise<AttemptResult> {
  let bytes: Uint8Array
  try {
    bytes = await res.bytes()
  } catch (err) {
    const clientGone = ctx.clientSignal.aborted
    const reason = describeFetchError(err)
    st.settle(clientGone ? { verdict: "neutral" } : { verdict: "failure", reason })
    const message = clientGone ? "client closed the request" : `backend ${attempt.backend.name} failed while sending its answer: ${reason}`
    const outcome: RequestOutcome = { status: clientGone ? 499 : 502, ...whereOf(attempt), error: message, clientAborted: clientGone, midStreamError: !clientGone, failures: ctx.failures }
    return { type: "answered", error: new NexusError({ kind: "upstream_failed", message, code: "upstream_error" }), clamp: st.clamp, outcome }
  }
  // A client that asked for one document: it must be one (streams that fit are JSON lines).
  const doc = ctx.request.stream ? true : documentOf(bytes)
  if (doc === false) return badAnswer(attempt, res.status, notJsonReason(res.status, res.headers.get("content-type") ?? ""), st.settle)
  const secret = secretOf(attempt.backend.apiKey)
  let document: Record<string, unknown> | undefined = typeof doc === "object" ? doc : undefined
  if (secret && bytesInclude(bytes, secret)) {
    bytes = Buffer.from(redactSecret(Buffer.from(bytes).toString("utf8"), secret))
    // What an encoder reads must be what the client may see: the redacted bytes.
    if (document) {
      const again = documentOf(bytes)
      document = typeof again === "object" ? again : undefined
    }
  }
  st.settle({ verdict: "success", latencyMs: headersMs })
  const outcome: RequestOutcome = {
    status: res.status,
    ...whereOf(attempt),
    ttftMs: performance.now() - ctx.started,
    usage: doc === true ? findUsageInBytes(bytes) : readUsage(doc),
    clientAborted: false,
    midStreamError: false,
    failures: ctx.failures,
  }
  const answer: Committed = { status: res.status, headers, body: bytes, dialect: st.exchange.dialect, document }
  return { type: "answered", answer, clamp: st.clamp, outcome }
}

/** A success status without an answer: a failure like a 5xx, and nothing committed yet. */
export function badAnswer(attempt: Attempt, status: number, reason: string, settle: Settle): AttemptResult {
  settle({ verdict: "failure", reason })
  return { type: "failed", failure: { backend: attempt.backend.name, kind: "bad_answer", reason, status } }
}
