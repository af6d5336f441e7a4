/**
 * What happened to a request, attempt by attempt. One attempt ends in one
 * `AttemptReport`; everything that learns from traffic (in-flight slots, averages,
 * breakers, the queue) reads that report through one path. The request as a whole
 * ends in one `RequestOutcome`, which metrics, stats and the log line read.
 * @module
 */
import type { Backend } from "./backend.ts"
import type { Dialect } from "./request.ts"
import type { Usage } from "./usage.ts"

/** How an attempt failed, from the point of view of failover. */
export type FailureKind =
  /** No connection, reset, DNS: the server is not there. */
  | "connect"
  /** No response headers within the first-byte allowance. */
  | "timeout"
  /** A 5xx or 408 answer. */
  | "status"
  /** A 429: the backend asked us to back off. */
  | "rate_limited"
  /** The server died after the status was committed. */
  | "mid_stream"
  /** A success status whose answer is not one: not JSON, or a stream with only an error. */
  | "bad_answer"
  /** Its last slot was taken by someone else before this attempt could start. */
  | "capacity"
  /** A policy no longer allows it (a reload changed its zone or tier, the budget ran out). */
  | "policy"

export interface Failure {
  backend: string
  kind: FailureKind
  reason: string
  status?: number
  /** Seconds, from a 429's Retry-After. */
  retryAfter?: number
}

/**
 * How one attempt ended for its backend: `success` (a proper answer, or a client error
 * that is the client's), `failure`, `rate_limited`, or `neutral` when it says nothing
 * about the backend (the client left).
 */
export type AttemptVerdict = "success" | "failure" | "rate_limited" | "neutral"

export interface AttemptReport {
  backend: Backend
  verdict: AttemptVerdict
  /** For failures and 429s: what went wrong, in words. */
  reason?: string
  /** For 429s: how long to keep away. */
  retryAfterSeconds?: number
  /** Time to first byte (whole bodies) or first token (streams) on this request, ms. */
  latencyMs?: number
}

/** Receives every attempt's start and end; the transport calls it, nothing else does. */
export interface AttemptFeedback {
  /** Take an in-flight slot on `b` (false when it is at capacity). */
  acquire(b: Backend): boolean
  /** The attempt is over and its slot free: exactly once per acquired slot. */
  settle(report: AttemptReport): void
  /** The backend's server answered that it lacks this dialect's own route. */
  lacksNative?(b: Backend, dialect: Dialect): void
}

/** Everything known about a request once it has completely finished. */
export interface RequestOutcome {
  status: number
  backend?: Backend
  /** The model sent to the backend that answered. */
  model?: string
  /** Set when the answer came from a fallback model. */
  fallbackFrom?: string
  failures: readonly Failure[]
  /** ms from the start of forwarding to the first token (or first body byte). */
  ttftMs?: number
  usage?: Usage
  /**
   * Set for a stream that did not end with its usage (cut by the client, the backend or
   * a stop): the completion tokens it relayed, counted as one per data event.
   */
  relayedTokens?: number
  error?: string
  clientAborted: boolean
  /** The body was cut by a backend failure after the status was committed. */
  midStreamError: boolean
}
