/**
 * One attempt on one backend: send, wait for the status, and either fail (so the loop
 * tries the next candidate) or commit the answer to the client. Whatever happens, the
 * attempt's slot is settled exactly once with what it taught us about the backend.
 * @module
 */
import { NexusError } from "../../core/errors.ts"
import type { AttemptReport, RequestOutcome } from "../../core/outcome.ts"
import type { Attempt } from "../../routing/router.ts"
import { coldAllowanceMs } from "../../fleet/fleet.ts"
import { exchangeFor, type Exchange } from "../exchange.ts"
import { describeFetchError } from "../providers/http.ts"
import { UpstreamAbort } from "./upstream-abort.ts"
import { upstreamHeaders, type HeaderMap } from "./headers.ts"
import { redactSecret, secretOf, upstreamMessage } from "./upstream-error.ts"
import { clampedOutput } from "../../core/output-budget.ts"
import { jsonAsStream } from "./convert.ts"
import { streamedDocument, type StreamedDocument } from "./whole-answer.ts"
import { badAnswer, commit, type CommitState, type Settle } from "./commit.ts"
import type { AttemptContext, AttemptResult } from "./attempt-types.ts"

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
    return await answered(ctx, attempt, res, { upstream, sent, settle, exchange, clamp })
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

/** A success status: the answer in the form the client asked for (a stream, or one document), committed. */
async function answered(ctx: AttemptContext, attempt: Attempt, res: Response, st: CommitState): Promise<AttemptResult> {
  const req = ctx.request
  const dialect = st.exchange.dialect
  if (st.exchange.toCanonical) res = await st.exchange.toCanonical(res, { stream: req.stream, model: attempt.model, maxFrameBytes: ctx.timing.maxFrameBytes })
  // The backend's headers, read in one native call.
  let given: HeaderMap = res.headers.toJSON()
  const type = given["content-type"] ?? ""
  if (req.stream && req.dialect === "openai" && dialect === "openai" && type.includes("json")) {
    // An OpenAI client gets the stream it asked for even from a server that ignored `stream`.
    given = (res = jsonAsStream(res)).headers.toJSON()
  } else if (!req.stream && dialect === "openai" && type.includes("text/event-stream")) {
    const doc = await documentFromStream(ctx, attempt, res, st.settle, ctx.timing.maxFrameBytes)
    if (!(doc instanceof Response)) return doc
    given = (res = doc).headers.toJSON()
  }
  return commit(ctx, attempt, res, given, st)
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
