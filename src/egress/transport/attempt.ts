/**
 * One attempt on one backend: send, wait for the status, and either fail (so the loop
 * tries the next candidate) or commit the answer to the client. Whatever happens, the
 * attempt's slot is settled exactly once with what it taught us about the backend.
 * @module
 */
import { NexusError } from "../../core/errors.ts"
import type { AttemptFeedback, AttemptReport, Failure, RequestOutcome } from "../../core/outcome.ts"
import type { CanonicalRequest, Dialect } from "../../core/request.ts"
import type { Attempt } from "../../routing/router.ts"
import { coldAllowanceMs, type Fleet } from "../../fleet/fleet.ts"
import { exchangeFor, type Exchange } from "../exchange.ts"
import { CANONICAL_WIRE, type DialectWire } from "../../core/dialect-wire.ts"
import { describeFetchError } from "../providers/http.ts"
import { UpstreamAbort } from "./upstream-abort.ts"
import { downstreamHeaders, upstreamHeaders, type HeaderMap } from "./headers.ts"
import { relayBody, type RelayEnd } from "./relay.ts"
import { redactSecret, secretOf, upstreamMessage } from "./upstream-error.ts"
import { findUsageInBytes } from "./usage-bytes.ts"
import { readUsage } from "../../core/usage.ts"
import { clampedOutput } from "../../core/output-budget.ts"
import type { StreamTranslator } from "../../core/stream-translator.ts"
import { jsonAsStream } from "./convert.ts"
import { documentOf, notJsonReason, streamedDocument, type StreamedDocument } from "./whole-answer.ts"

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

/** Non-streaming bodies up to this size (declared by content-length) are taken whole. */
const WHOLE_BODY_LIMIT = 1 << 20

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), if any. */
export function retryAfterSeconds(value: string | null): number | undefined {
  if (!value) return undefined
  const secs = Number(value)
  if (Number.isFinite(secs) && secs >= 0) return secs
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000)
}

/** Statuses after which another backend may well succeed. */
function isRetryable(status: number): boolean {
  return status >= 500 || status === 429 || status === 408
}

/** Run one attempt whose slot on `attempt.backend` is already held. */
export async function runAttempt(ctx: AttemptContext, attempt: Attempt): Promise<AttemptResult> {
  const { request: req, clientSignal, timing, feedback } = ctx
  const backend = attempt.backend
  const sent = performance.now()
  const remaining = timing.deadline - sent
  // The output budget the chosen model has room for, when the client asked for more.
  const clamp = clampedOutput(req.requirements, backend.models.get(attempt.model)?.contextLength)
  let exchange: Exchange
  try {
    exchange = exchangeFor(req, backend, attempt.model, clamp, ctx.wire)
  } catch (err) {
    if (!(err instanceof NexusError)) throw err
    return unservable(ctx, attempt, err, clamp)
  }
  const loaded = backend.models.get(attempt.model)?.loaded
  // Always-loaded models (loaded undefined) cost nothing more here.
  const resident = loaded === undefined ? undefined : ctx.fleet?.attempt(backend, attempt.model)
  const allowance =
    loaded === false
      ? coldAllowanceMs(ctx.fleet?.loadMs(backend.id, attempt.model), timing.firstByteTimeoutMs, timing.coldFirstByteTimeoutMs)
      : timing.firstByteTimeoutMs
  const firstByteMs = Math.min(backend.timeoutMs ?? allowance, remaining)
  const upstream = new UpstreamAbort(clientSignal, sent + firstByteMs, ctx.keepOpen)

  let settled = false
  const settle = (report: Omit<AttemptReport, "backend">) => {
    if (settled) return
    settled = true
    upstream.release()
    resident?.settle()
    // Spelled out: a spread copies through the runtime's generic path on every attempt.
    feedback.settle({ backend, verdict: report.verdict, reason: report.reason, retryAfterSeconds: report.retryAfterSeconds, latencyMs: report.latencyMs })
  }

  let res: Response
  try {
    res = await fetch(exchange.url, {
      method: "POST",
      headers: upstreamHeaders(req.headers, req.requestId, exchange.credentials, req.key !== undefined),
      body: exchange.body,
      signal: upstream.signal,
      // Bun's own idle timer (5 min default) would cut long silent generations.
      timeout: backend.timeoutMs ?? Math.max(remaining, 1000),
      redirect: "manual",
    })
  } catch (err) {
    upstream.started()
    if (clientSignal.aborted) {
      settle({ verdict: "neutral" })
      return { type: "client_gone" }
    }
    const timedOut = upstream.timedOut
    const reason = timedOut ? `no response within ${firstByteMs} ms` : describeFetchError(err)
    settle({ verdict: "failure", reason })
    return { type: "failed", failure: { backend: backend.name, kind: timedOut ? "timeout" : "connect", reason } }
  }
  upstream.started()

  // `return await` below: a rejection is caught here, not passed on with the slot still held.
  try {
    if (res.status < 200 || res.status >= 300) {
      const text = await res.text().catch(() => "")
      if (exchange.native && lacksRoute(res.status, text) && ctx.feedback.lacksNative) {
        // An older server without this dialect's route: learn it, and translate at once,
        // on the same slot; the client sees only the translated answer.
        ctx.feedback.lacksNative(backend, req.dialect)
        // The slot passes to the retry, which settles it: this attempt must not again.
        settled = true
        upstream.release()
        resident?.settle()
        return await runAttempt(ctx, attempt)
      }
      return refused(ctx, attempt, res.status, res.headers, text, settle, clamp)
    }
    resident?.answered(performance.now() - sent)
    if (exchange.toCanonical) res = await exchange.toCanonical(res, { stream: req.stream, model: attempt.model, maxFrameBytes: timing.maxFrameBytes })
    // The backend's headers, read in one native call.
    let given: HeaderMap = res.headers.toJSON()
    const type = given["content-type"] ?? ""
    if (req.stream && req.dialect === "openai" && exchange.dialect === "openai" && type.includes("json")) {
      // An OpenAI client gets the stream it asked for even from a server that ignored `stream`.
      given = (res = jsonAsStream(res)).headers.toJSON()
    } else if (!req.stream && exchange.dialect === "openai" && type.includes("text/event-stream")) {
      const doc = await documentFromStream(ctx, attempt, res, settle, timing.maxFrameBytes)
      if (!(doc instanceof Response)) return doc
      given = (res = doc).headers.toJSON()
    }
    return await commit(ctx, attempt, res, given, { upstream, sent, settle, exchange, clamp })
  } catch (err) {
    // Whatever broke, the attempt's slot and its upstream request are given back.
    if (settled) throw err
    upstream.controller.abort()
    res.body?.cancel().catch(() => {})
    if (clientSignal.aborted) {
      settle({ verdict: "neutral" })
      return { type: "client_gone" }
    }
    const reason = `its answer could not be read: ${describeFetchError(err)}`
    settle({ verdict: "failure", reason })
    return { type: "failed", failure: { backend: backend.name, kind: "status", reason } }
  }
}

/** A stream sent to a client that asked for one document, read whole: the document, or why the attempt ended. */
async function documentFromStream(ctx: AttemptContext, attempt: Attempt, res: Response, settle: Settle, maxBytes?: number): Promise<Response | AttemptResult> {
  let doc: StreamedDocument
  try {
    doc = await streamedDocument(res, secretOf(attempt.backend.apiKey), maxBytes)
  } catch (err) {
    if (ctx.clientSignal.aborted) {
      settle({ verdict: "neutral" })
      return { type: "client_gone" }
    }
    doc = { error: `failed while sending its answer: ${describeFetchError(err)}` }
  }
  return "error" in doc ? badAnswer(attempt, res.status, doc.error, settle) : doc.response
}

/** A success status without an answer: a failure like a 5xx, and nothing committed yet. */
function badAnswer(attempt: Attempt, status: number, reason: string, settle: Settle): AttemptResult {
  settle({ verdict: "failure", reason })
  return { type: "failed", failure: { backend: attempt.backend.name, kind: "bad_answer", reason, status } }
}

type Settle = (report: Omit<AttemptReport, "backend">) => void

/**
 * The server has no such route (404, 405, 501) rather than refusing this request: a 404
 * about a model or a stored response is the request's, not the route's.
 */
function lacksRoute(status: number, text: string): boolean {
  if (status === 405 || status === 501) return true
  return status === 404 && !/model|previous_response|response with id|response_id/i.test(upstreamMessage(text))
}

/** The request cannot be sent to this backend at all: the client gets why, and the slot goes back. */
function unservable(ctx: AttemptContext, attempt: Attempt, error: NexusError, clamp: number | undefined): AttemptResult {
  ctx.feedback.settle({ backend: attempt.backend, verdict: "neutral" })
  const outcome: RequestOutcome = { status: error.status, backend: attempt.backend, model: attempt.model, fallbackFrom: attempt.fallbackFrom, error: error.message, clientAborted: false, midStreamError: false, failures: ctx.failures }
  return { type: "answered", error, clamp, outcome }
}

/** A non-2xx answer: fail over when another backend may do better, else pass it on. */
function refused(ctx: AttemptContext, attempt: Attempt, status: number, headers: Headers, text: string, settle: Settle, clamp: number | undefined): AttemptResult {
  const backend = attempt.backend
  const message = redactSecret(upstreamMessage(text) || `HTTP ${status}`, backend.apiKey)
  if (isRetryable(status)) {
    const retryAfter = retryAfterSeconds(headers.get("retry-after"))
    if (status === 429) settle({ verdict: "rate_limited", reason: message, retryAfterSeconds: retryAfter ?? 1 })
    else settle({ verdict: "failure", reason: `HTTP ${status}: ${message}` })
    const kind = status === 429 ? "rate_limited" : "status"
    return { type: "failed", failure: { backend: backend.name, kind, reason: message, status, retryAfter } }
  }
  // A client error is the client's: another backend would say the same.
  settle({ verdict: "success" })
  const outcome: RequestOutcome = { status, backend, model: attempt.model, fallbackFrom: attempt.fallbackFrom, error: message, clientAborted: false, midStreamError: false, failures: ctx.failures }
  // Only a 404 that talks about a model is about the model; others are the backend's route.
  const aboutModel = status === 404 && /model/i.test(message)
  const error = new NexusError({
    kind: "upstream_rejected",
    status,
    message,
    code: aboutModel ? "model_not_found" : "upstream_error",
    param: aboutModel ? "model" : null,
  })
  return { type: "answered", error, clamp, outcome }
}

interface CommitState {
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
function commit(ctx: AttemptContext, attempt: Attempt, res: Response, given: HeaderMap, st: CommitState): AttemptResult | Promise<AttemptResult> {
  const backend = attempt.backend
  const where = { backend, model: attempt.model, fallbackFrom: attempt.fallbackFrom }
  const contentType = given["content-type"] ?? ""
  const dialect = st.exchange.dialect
  // A stream is SSE unless the server says it is JSON lines (Ollama's native API).
  const sse = contentType.includes("text/event-stream") || (ctx.request.stream && !contentType.includes("json"))
  const headers = downstreamHeaders(given)
  if (sse) {
    headers["content-type"] = "text/event-stream; charset=utf-8"
    headers["cache-control"] = "no-cache"
    headers["x-accel-buffering"] = "no"
  }
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
    const where = { backend: attempt.backend, model: attempt.model, fallbackFrom: attempt.fallbackFrom }
    const outcome: RequestOutcome = { status: clientGone ? 499 : 502, ...where, error: message, clientAborted: clientGone, midStreamError: !clientGone, failures: ctx.failures }
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
    backend: attempt.backend,
    model: attempt.model,
    fallbackFrom: attempt.fallbackFrom,
    ttftMs: performance.now() - ctx.started,
    usage: doc === true ? findUsageInBytes(bytes) : readUsage(doc),
    clientAborted: false,
    midStreamError: false,
    failures: ctx.failures,
  }
  const answer: Committed = { status: res.status, headers, body: bytes, dialect: st.exchange.dialect, document }
  return { type: "answered", answer, clamp: st.clamp, outcome }
}
