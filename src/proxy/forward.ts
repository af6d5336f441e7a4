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
import type { Usage } from "./usage.ts"

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
  maxAttempts: number
  firstByteTimeoutMs: number
  /** Absolute time (performance.now() clock) after which no new attempt starts. */
  deadline: number
  heartbeatMs: number
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

function observeLatency(b: Backend, ms: number): void {
  const prev = b.stats.ttftEwmaMs
  b.stats.ttftEwmaMs = prev === undefined ? ms : prev + EWMA_ALPHA * (ms - prev)
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
  const limit = Math.min(req.attempts.length, Math.max(1, req.maxAttempts))

  for (let i = 0; i < limit; i++) {
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
    const firstByteMs = Math.min(backend.timeoutMs ?? req.firstByteTimeoutMs, remaining)
    const timer = setTimeout(
      () => upstream.abort(new DOMException("first byte timeout", "TimeoutError")),
      firstByteMs
    )

    backend.stats.inFlight++
    backend.stats.requests++
    let released = false
    const release = (failed: boolean) => {
      if (released) return
      released = true
      backend.stats.inFlight--
      if (failed) backend.stats.errors++
      req.clientSignal.removeEventListener("abort", onClientAbort)
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
      if (clientGone) break
      const timedOut = (upstream.signal.reason as { name?: string })?.name === "TimeoutError"
      lastTimeout = timedOut
      failures.push({
        backend: backend.name,
        reason: timedOut ? `no response within ${firstByteMs} ms` : describeFetchError(err),
      })
      continue
    }
    clearTimeout(timer)

    if (res.status < 200 || res.status >= 300) {
      const text = await res.text().catch(() => "")
      const message = upstreamMessage(text) || `HTTP ${res.status}`
      lastTimeout = false
      if (isRetryable(res.status)) {
        release(true)
        const retryAfter = Number(res.headers.get("retry-after")) || undefined
        failures.push({ backend: backend.name, reason: message, status: res.status, retryAfter })
        continue
      }
      // A client error is the client's: another backend would say the same.
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

    const relayStart = performance.now()
    const stream = relayBody(res.body, {
      sse,
      backendName: backend.name,
      heartbeatMs: req.heartbeatMs,
      abort: () => upstream.abort(),
      onEnd(end: RelayEnd) {
        const failed = end.how === "upstream_error"
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
  const retryAfter = allLimited ? Math.min(...failures.map((f) => f.retryAfter ?? 1)) : undefined
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
