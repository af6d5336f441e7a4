/**
 * Forwarding with failover. Attempts are walked in order until one backend answers
 * with a success status; connection errors, timeouts before the response starts, 5xx,
 * 429 and 408 move on to the next one, unseen by the client. Once a success status
 * is committed there is no retry: the relay ends the stream cleanly instead.
 * @module
 */
import { ApiError, upstreamMessage } from "../errors.ts"
import { adapterFor } from "../backends/index.ts"
import { describeFetchError } from "../backends/http.ts"
import type { Backend } from "../registry/types.ts"
import type { Attempt } from "../routing/router.ts"
import { downstreamHeaders, upstreamHeaders } from "./headers.ts"
import { relayBody, type RelayEnd } from "./relay.ts"
import { rewriteModel } from "./rewrite-model.ts"
import { readUsage, type Usage } from "./usage.ts"

export interface ForwardRequest {
  requestId: string
  /** API path below the OpenAI base, e.g. `/chat/completions`. */
  path: string
  /** The client's JSON body, as received. */
  body: string
  /** The `model` the client sent (rewritten per attempt when it differs). */
  model: string
  stream: boolean
  clientHeaders: Headers
  clientSignal: AbortSignal
  attempts: Attempt[]
  firstByteTimeoutMs: number
  /** First-byte allowance when the model is known not to be loaded yet. */
  coldFirstByteTimeoutMs: number
  /** Absolute time (performance.now() clock) after which no new attempt starts. */
  deadline: number
  heartbeatMs: number
  observer?: AttemptObserver
}

/** What the resilience layer (breakers, queue) hears about each attempt. */
export interface AttemptObserver {
  /** An attempt on `b` starts (a half-open circuit lets it through as the trial). */
  begin(b: Backend): void
  /** `b` answered properly (a success status, or a client error that is the client's). */
  success(b: Backend): void
  /** `b` failed: connection error, timeout, 5xx, 408, or death mid-stream. */
  failure(b: Backend, reason: string): void
  /** `b` asked us to back off (429). */
  rateLimited(b: Backend, retryAfterSeconds: number): void
  /** The attempt ended for a reason that says nothing about `b` (client left). */
  neutral(b: Backend): void
  /** An in-flight slot on `b` was released. */
  released(b: Backend): void
}

export interface Failure {
  backend: string
  reason: string
  status?: number
  /** Seconds, from a 429's Retry-After. */
  retryAfter?: number
}

/** Everything known about a request once it has completely finished. */
export interface ForwardOutcome {
  status: number
  attempt?: Attempt
  failures: Failure[]
  /** ms from the start of forwarding to the first token (or first body byte). */
  ttftMs?: number
  usage?: Usage
  error?: string
  clientAborted: boolean
  /** The body was cut by a backend failure after the status was committed. */
  midStreamError: boolean
}

export interface ForwardResult {
  response: Response
  attempt?: Attempt
  failures: Failure[]
}

const EWMA_ALPHA = 0.2

/** Non-streaming bodies up to this size (declared by content-length) are taken whole. */
const WHOLE_BODY_LIMIT = 1 << 20

function usageOf(bytes: Uint8Array): Usage | undefined {
  try {
    return readUsage(JSON.parse(new TextDecoder().decode(bytes)))
  } catch {
    return undefined
  }
}

function observeLatency(b: Backend, ms: number): void {
  const prev = b.stats.ttftEwmaMs
  b.stats.ttftEwmaMs = prev === undefined ? ms : prev + EWMA_ALPHA * (ms - prev)
}

function observeError(b: Backend, failed: boolean): void {
  b.stats.errorRate += EWMA_ALPHA * ((failed ? 1 : 0) - b.stats.errorRate)
}

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

/**
 * Forward a request. `onSettled` is called exactly once, after the client has
 * received the whole response (or gone away): that is when counters are released.
 */
export async function forward(
  req: ForwardRequest,
  onSettled: (outcome: ForwardOutcome) => void
): Promise<ForwardResult> {
  const t0 = performance.now()
  const failures: Failure[] = []
  let lastTimeout = false
  const obs = req.observer

  for (let i = 0; i < req.attempts.length; i++) {
    const attempt = req.attempts[i]!
    const backend = attempt.backend
    const remaining = req.deadline - performance.now()
    if (remaining <= 0) {
      lastTimeout = true
      break
    }
    if (req.clientSignal.aborted) break

    const adapter = adapterFor(backend.type)
    const url = `${adapter.apiBase(backend.url)}${req.path}`
    const body = attempt.model === req.model ? req.body : rewriteModel(req.body, attempt.model)
    const upstream = new AbortController()
    const onClientAbort = () => upstream.abort(req.clientSignal.reason)
    req.clientSignal.addEventListener("abort", onClientAbort, { once: true })
    const cold = backend.models.get(attempt.model)?.loaded === false
    const allowance = cold ? req.coldFirstByteTimeoutMs : req.firstByteTimeoutMs
    const firstByteMs = Math.min(backend.timeoutMs ?? allowance, remaining)
    const timer = setTimeout(
      () => upstream.abort(new DOMException("first byte timeout", "TimeoutError")),
      firstByteMs
    )

    obs?.begin(backend)
    backend.stats.inFlight++
    backend.stats.requests++
    let released = false
    const release = (failed: boolean) => {
      if (released) return
      released = true
      backend.stats.inFlight--
      if (failed) backend.stats.errors++
      req.clientSignal.removeEventListener("abort", onClientAbort)
      obs?.released(backend)
    }

    const sent = performance.now()
    let res: Response
    try {
      res = await fetch(url, {
        method: "POST",
        headers: upstreamHeaders(req.clientHeaders, backend.apiKey, req.requestId),
        body,
        signal: upstream.signal,
        // Bun's own idle timer (5 min default) would cut long silent generations.
        timeout: backend.timeoutMs ?? Math.max(remaining, 1000),
        redirect: "manual",
      })
    } catch (err) {
      clearTimeout(timer)
      const clientGone = req.clientSignal.aborted
      release(!clientGone)
      if (clientGone) {
        obs?.neutral(backend)
        break
      }
      const timedOut = (upstream.signal.reason as { name?: string })?.name === "TimeoutError"
      lastTimeout = timedOut
      const reason = timedOut ? `no response within ${firstByteMs} ms` : describeFetchError(err)
      failures.push({ backend: backend.name, reason })
      observeError(backend, true)
      obs?.failure(backend, reason)
      continue
    }
    clearTimeout(timer)

    if (res.status < 200 || res.status >= 300) {
      const text = await res.text().catch(() => "")
      const message = upstreamMessage(text) || `HTTP ${res.status}`
      lastTimeout = false
      if (isRetryable(res.status)) {
        const retryAfter = retryAfterSeconds(res.headers.get("retry-after"))
        release(true)
        failures.push({ backend: backend.name, reason: message, status: res.status, retryAfter })
        if (res.status === 429) obs?.rateLimited(backend, retryAfter ?? 1)
        else {
          observeError(backend, true)
          obs?.failure(backend, `HTTP ${res.status}: ${message}`)
        }
        continue
      }
      // A client error is the client's: another backend would say the same.
      observeError(backend, false)
      obs?.success(backend)
      release(false)
      const error = new ApiError({
        status: res.status,
        message,
        code: res.status === 404 ? "model_not_found" : "upstream_error",
        param: res.status === 404 ? "model" : null,
      })
      onSettled({ status: res.status, attempt, failures, error: message, clientAborted: false, midStreamError: false })
      return { response: error.toResponse(), attempt, failures }
    }

    // Committed: from here on the client gets this backend's answer.
    observeError(backend, false)
    obs?.success(backend)
    const contentType = res.headers.get("content-type") ?? ""
    const sse = req.stream || contentType.includes("text/event-stream")
    const headers = downstreamHeaders(res.headers)
    if (sse) {
      headers.set("content-type", "text/event-stream; charset=utf-8")
      headers.set("cache-control", "no-cache")
      headers.set("x-accel-buffering", "no")
    }
    const headersMs = performance.now() - sent
    if (!sse) observeLatency(backend, headersMs)

    if (!res.body) {
      release(false)
      onSettled({ status: res.status, attempt, failures, clientAborted: false, midStreamError: false, ttftMs: performance.now() - t0 })
      return { response: new Response(null, { status: res.status, headers }), attempt, failures }
    }

    // A non-streaming answer is one JSON document the backend writes when generation
    // is done. When it declares a small length, take it whole: usage is read and the
    // slot released at native speed, and Bun sends it with its length. Anything else
    // (no length, large, or a stream) is relayed chunk by chunk below.
    const length = Number(res.headers.get("content-length") ?? Number.NaN)
    if (!sse && length >= 0 && length <= WHOLE_BODY_LIMIT) {
      let bytes: Uint8Array
      try {
        bytes = await res.bytes()
      } catch (err) {
        const clientGone = req.clientSignal.aborted
        release(!clientGone)
        if (clientGone) obs?.neutral(backend)
        else obs?.failure(backend, describeFetchError(err))
        const message = clientGone ? "client closed the request" : `backend ${backend.name} failed while sending its answer: ${describeFetchError(err)}`
        onSettled({ status: clientGone ? 499 : 502, attempt, failures, error: message, clientAborted: clientGone, midStreamError: !clientGone })
        const error = new ApiError({ status: 502, message, type: "server_error", code: "upstream_error" })
        return { response: error.toResponse(), attempt, failures }
      }
      release(false)
      onSettled({
        status: res.status,
        attempt,
        failures,
        ttftMs: performance.now() - t0,
        usage: usageOf(bytes),
        clientAborted: false,
        midStreamError: false,
      })
      return { response: new Response(bytes, { status: res.status, headers }), attempt, failures }
    }

    const relayStart = performance.now()
    const stream = relayBody(res.body, {
      sse,
      backendName: backend.name,
      heartbeatMs: req.heartbeatMs,
      abort: () => upstream.abort(),
      onEnd(end: RelayEnd) {
        const failed = end.how === "upstream_error"
        if (failed) {
          observeError(backend, true)
          obs?.failure(backend, `died mid-stream: ${end.error ?? "unknown"}`)
        }
        release(failed)
        const ttft = end.firstTokenMs === undefined ? undefined : relayStart - t0 + end.firstTokenMs
        if (sse && end.firstTokenMs !== undefined) observeLatency(backend, relayStart - sent + end.firstTokenMs)
        onSettled({
          status: res.status,
          attempt,
          failures,
          ttftMs: ttft,
          usage: end.usage,
          error: end.error,
          clientAborted: end.how === "client_abort",
          midStreamError: failed,
        })
      },
    })
    return { response: new Response(stream, { status: res.status, headers }), attempt, failures }
  }

  // Nothing committed: every attempt failed, or the client left.
  const clientAborted = req.clientSignal.aborted
  // Every backend asked us to slow down: say so, with the soonest time to come back.
  const allLimited = failures.length > 0 && failures.every((f) => f.status === 429)
  const status = clientAborted ? 499 : allLimited ? 429 : lastTimeout ? 504 : 502
  const message = clientAborted
    ? "client closed the request"
    : failures.length
      ? `all backends failed: ${failures.map((f) => `${f.backend}: ${f.reason}`).join("; ")}`
      : "no backend attempt could be made before the deadline"
  onSettled({ status, failures, error: message, clientAborted, midStreamError: false })
  const retryAfter = allLimited ? Math.ceil(Math.min(...failures.map((f) => f.retryAfter ?? 1))) : undefined
  const error = new ApiError({
    status,
    message,
    type: allLimited ? "rate_limit_error" : "server_error",
    code: allLimited ? "rate_limited" : status === 504 ? "upstream_timeout" : "upstream_unavailable",
    context: { attempts: failures },
    headers: retryAfter ? { "retry-after": String(retryAfter) } : undefined,
  })
  return { response: error.toResponse(), failures }
}
