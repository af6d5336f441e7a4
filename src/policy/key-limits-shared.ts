/**
 * Per-key rate limits shared by several instances. The buckets of a key with rpm or tpm
 * live on the shared store; each instance takes a small share of them at a time (a
 * hundredth of the limit, at least one) and admits from it in memory, so most requests
 * cost no round trip, and what all instances admit never exceeds what the buckets held.
 * Tokens reported beyond the share are taken with the next share. The decision, the 429
 * and the x-ratelimit-* headers are the local limits', on the levels the store gave.
 * Concurrency stays per instance (an instance that dies must not hold slots forever).
 * While the store is down, keys are checked from memory with what this instance last
 * knew, or refused when the configuration says so.
 * @module
 */
import type { ApiKey, BucketAsk, BucketStore } from "../core/api-key.ts"
import { NexusError } from "../core/errors.ts"
import { createKeyLimits, type KeyLimits } from "./key-limits.ts"

/** The share of a limit one instance takes at a time. */
const SHARE = 1 / 100
/** Tokens spent beyond the share reach the store at least this often, even with no new request. */
const DEBT_FLUSH_MS = 1000

interface Credit {
  requests: number
  tokens: number
  /** A share being fetched: requests that find no credit wait for it together. */
  fetching?: Promise<boolean>
}

function unreachable(store: BucketStore): NexusError {
  return new NexusError({
    kind: "unavailable",
    message: `API keys cannot be checked: the shared state ${store.where} is unreachable ([state] on_unavailable = "closed"); retry shortly.`,
    code: "state_unavailable",
    retryAfterSeconds: 5,
  })
}

export function sharedKeyLimits(store: BucketStore): KeyLimits {
  const local = createKeyLimits()
  const credits = new Map<string, Credit>()
  const creditOf = (key: ApiKey): Credit => {
    let c = credits.get(key.id)
    if (!c) credits.set(key.id, (c = { requests: 0, tokens: 0 }))
    return c
  }
  const covered = (key: ApiKey, c: Credit) => (key.rpm === undefined || c.requests >= 1) && (key.tpm === undefined || c.tokens >= 1)

  function asks(key: ApiKey, c: Credit): BucketAsk[] {
    const out: BucketAsk[] = []
    if (key.rpm !== undefined) out.push({ which: "requests", perMinute: key.rpm, want: Math.max(1, Math.floor(key.rpm * SHARE)), debt: 0 })
    if (key.tpm !== undefined) out.push({ which: "tokens", perMinute: key.tpm, want: Math.max(1, Math.floor(key.tpm * SHARE)), debt: Math.max(0, -c.tokens) })
    return out
  }

  /** Fetch a share; true when the store let the key in. */
  async function share(key: ApiKey, c: Credit): Promise<boolean> {
    const ask = asks(key, c)
    const debt = ask.find((a) => a.which === "tokens")?.debt ?? 0
    const g = await store.take(key.id, ask, true)
    c.tokens += debt
    c.requests += g.granted.requests ?? 0
    c.tokens += g.granted.tokens ?? 0
    // Refused: a fraction of a token left here must not let the local check pass.
    if (!g.ok) c.tokens = Math.min(c.tokens, 0)
    // What this instance shows and decides on: the store's levels plus its own share.
    local.sync(key, { requests: g.levels.requests === undefined ? undefined : g.levels.requests + c.requests, tokens: g.levels.tokens === undefined ? undefined : g.levels.tokens + c.tokens })
    return g.ok
  }

  /** One fetch per key at a time: requests that find no credit wait for it together. */
  function fetchShare(key: ApiKey, c: Credit): Promise<boolean> {
    c.fetching ??= share(key, c).finally(() => (c.fetching = undefined))
    return c.fetching
  }

  /** Wait for a share (another, when the requests that waited with this one used it up). */
  async function admitShared(key: ApiKey, c: Credit): Promise<void> {
    for (;;) {
      let ok: boolean
      try {
        ok = await fetchShare(key, c)
      } catch {
        if (store.failClosed()) throw unreachable(store)
        return local.admit(key)
      }
      // Refused: the local limits, on the store's levels, say which 429.
      if (!ok) return local.admit(key)
      if (covered(key, c)) return admitFromCredit(key, c)
    }
  }

  function admitFromCredit(key: ApiKey, c: Credit): void {
    local.admit(key)
    if (key.rpm !== undefined) c.requests -= 1
  }

  // Debts of keys that stopped sending requests still reach the store.
  const debts = setInterval(() => {
    if (!store.isUp()) return
    for (const [id, c] of credits) {
      if (c.tokens >= 0 || c.fetching) continue
      const debt = -c.tokens
      c.tokens = 0
      store.take(id, [{ which: "tokens", perMinute: 1, want: 0, debt }], false).catch(() => (c.tokens -= debt))
    }
  }, DEBT_FLUSH_MS)
  debts.unref()

  return {
    ...local,
    admit(key: ApiKey, now?: number): void | Promise<void> {
      if (!store.isUp()) {
        if (store.failClosed()) throw unreachable(store)
        return local.admit(key, now)
      }
      if (key.rpm === undefined && key.tpm === undefined) return local.admit(key, now)
      // The local concurrency limit first: a request it refuses takes nothing from the store.
      if (key.maxConcurrent !== undefined && local.inFlight(key) >= key.maxConcurrent) return local.admit(key, now)
      const c = creditOf(key)
      if (covered(key, c)) return admitFromCredit(key, c)
      return admitShared(key, c)
    },
    spendTokens(key: ApiKey, tokens: number, now?: number): void {
      local.spendTokens(key, tokens, now)
      if (key.tpm !== undefined && tokens > 0) creditOf(key).tokens -= tokens
    },
  }
}
