/**
 * Per-key rate limits and concurrency. Requests and tokens per minute are token buckets
 * (a full minute's worth may come in a burst, then they refill evenly); tokens are taken
 * from the bucket as backends report them, after the answer, so a bucket may go below
 * zero and then refuses until it refills. Requests in flight are counted from admission
 * to the request's one record, whatever way it ends.
 * @module
 */
import type { ApiKey } from "../core/api-key.ts"
import { NexusError } from "../core/errors.ts"

interface Bucket {
  level: number
  at: number
}

interface KeyState {
  requests?: Bucket
  tokens?: Bucket
  inFlight: number
}

/** A shared store's limits wait for it: their `admit` may return a promise. */
export type KeyLimits = Omit<ReturnType<typeof createKeyLimits>, "admit"> & { admit(key: ApiKey, now?: number): void | Promise<void> }

/** The level of a bucket of `perMinute` at `now` (refilled since it was last read). */
function refill(b: Bucket, perMinute: number, now: number): number {
  b.level = Math.min(perMinute, b.level + ((now - b.at) * perMinute) / 60_000)
  b.at = now
  return b.level
}

/** Milliseconds until the bucket holds `level`. */
const msUntil = (b: Bucket, perMinute: number, level: number) => Math.max(0, ((level - b.level) * 60_000) / perMinute)

/** A duration as OpenAI writes its reset headers: `20ms`, `1.5s`, `6m0s`. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.ceil(ms)}ms`
  const s = Math.ceil(ms) / 1000
  if (s < 60) return `${+s.toFixed(3)}s`
  return `${Math.floor(s / 60)}m${+(s % 60).toFixed(3)}s`
}

export function createKeyLimits() {
  const states = new Map<string, KeyState>()
  const stateOf = (key: ApiKey): KeyState => {
    let s = states.get(key.id)
    if (!s) states.set(key.id, (s = { inFlight: 0 }))
    return s
  }
  const bucket = (s: KeyState, which: "requests" | "tokens", perMinute: number, now: number): Bucket => {
    const b = (s[which] ??= { level: perMinute, at: now })
    refill(b, perMinute, now)
    return b
  }

  function limited(key: ApiKey, message: string, code: string, retryMs: number, now: number): NexusError {
    return new NexusError({ kind: "rate_limited", message, code, retryAfterSeconds: Math.max(1, Math.ceil(retryMs / 1000)), headers: headersOf(key, now) })
  }

  /** The `x-ratelimit-*` headers OpenAI clients read, for a key with rate limits. */
  function headersOf(key: ApiKey, now = Date.now()): Record<string, string> {
    const out: Record<string, string> = {}
    const s = stateOf(key)
    if (key.rpm !== undefined) {
      const b = bucket(s, "requests", key.rpm, now)
      out["x-ratelimit-limit-requests"] = String(key.rpm)
      out["x-ratelimit-remaining-requests"] = String(Math.max(0, Math.floor(b.level)))
      out["x-ratelimit-reset-requests"] = goDuration(msUntil(b, key.rpm, key.rpm))
    }
    if (key.tpm !== undefined) {
      const b = bucket(s, "tokens", key.tpm, now)
      out["x-ratelimit-limit-tokens"] = String(key.tpm)
      out["x-ratelimit-remaining-tokens"] = String(Math.max(0, Math.floor(b.level)))
      out["x-ratelimit-reset-tokens"] = goDuration(msUntil(b, key.tpm, key.tpm))
    }
    return out
  }

  return {
    /**
     * Let a request of `key` in, or throw the 429 that says which limit and when to retry.
     * On success the key holds one more request in flight until `release`.
     */
    admit(key: ApiKey, now = Date.now()): void {
      const s = stateOf(key)
      if (key.maxConcurrent !== undefined && s.inFlight >= key.maxConcurrent) {
        throw limited(key, `Key '${key.name}' already has ${s.inFlight} requests in flight (its limit is ${key.maxConcurrent}); retry when one finishes.`, "concurrency_limit_exceeded", 1000, now)
      }
      if (key.tpm !== undefined) {
        const b = bucket(s, "tokens", key.tpm, now)
        if (b.level < 1) throw limited(key, `Rate limit reached for key '${key.name}': ${key.tpm} tokens per minute.`, "rate_limit_exceeded", msUntil(b, key.tpm, 1), now)
      }
      if (key.rpm !== undefined) {
        const b = bucket(s, "requests", key.rpm, now)
        if (b.level < 1) throw limited(key, `Rate limit reached for key '${key.name}': ${key.rpm} requests per minute.`, "rate_limit_exceeded", msUntil(b, key.rpm, 1), now)
        b.level -= 1
      }
      s.inFlight++
    },
    release(key: ApiKey): void {
      const s = states.get(key.id)
      if (s && s.inFlight > 0) s.inFlight--
    },
    /** Tokens a finished request of `key` used, as its backend reported them. */
    spendTokens(key: ApiKey, tokens: number, now = Date.now()): void {
      if (key.tpm === undefined || tokens <= 0) return
      bucket(stateOf(key), "tokens", key.tpm, now).level -= tokens
    },
    inFlight: (key: ApiKey) => states.get(key.id)?.inFlight ?? 0,
    /** Set the key's buckets to the levels a shared store gave (so this instance decides and answers as it does). */
    sync(key: ApiKey, levels: { requests?: number; tokens?: number }, now = Date.now()): void {
      const s = stateOf(key)
      if (levels.requests !== undefined) s.requests = { level: levels.requests, at: now }
      if (levels.tokens !== undefined) s.tokens = { level: levels.tokens, at: now }
    },
    headers: headersOf,
  }
}
