/**
 * Client API keys: who is calling, and what that caller may do. Only a hash of the secret
 * is ever kept; the secret itself exists once, in the answer that creates the key.
 * @module
 */
/** A key's limits and identity, as stored. Undefined limits do not apply. */
export interface ApiKey {
  /** Stable id (survives a rotation); the name is what people and metrics see. */
  id: string
  name: string
  /** SHA-256 of the secret, hex. */
  hash: string
  /** The first characters of the secret (`nx-AbCd`), to recognise it in a list. */
  prefix: string
  /** Model globs the key may use, applied to the resolved model; undefined: any. */
  models?: string[]
  /** `restricted`: every request is routed as a restricted one (never to an open-zone backend). */
  privacy: "restricted" | "unrestricted"
  /** Requests per minute. */
  rpm?: number
  /** Tokens (prompt and completion, as reported) per minute. */
  tpm?: number
  /** Requests in flight at once. */
  maxConcurrent?: number
  /** Cloud spend per UTC month, in US dollars. */
  monthlyUsd?: number
  /** Epoch ms. */
  createdAt: number
  expiresAt?: number
  revokedAt?: number
}

/**
 * Where keys live. One process keeps them in its state file; a store shared by several
 * instances implements the same three calls.
 */
export interface KeyStore {
  /** Every key, revoked ones included (they keep their usage history). */
  load(): ApiKey[]
  /** Insert or replace by id. */
  save(key: ApiKey): void
  /** Cloud spend recorded for each key in `month` (`2026-11`), by key id. */
  spend(month: string): Map<string, number>
  /** Add to a key's spend in `month`; throws when it cannot be kept. */
  addSpend(month: string, keyId: string, usd: number): void
  /** A shared store: hear of keys another instance saved (created, rotated, revoked). */
  watch?(listener: (key: ApiKey) => void): void
  /** A shared store: resolves once the keys saved so far are there for every instance. */
  saved?(): Promise<void>
}

/** One of a key's buckets, as asked of a shared store. */
export interface BucketAsk {
  which: "requests" | "tokens"
  perMinute: number
  /** How much to take for this instance to spend locally, at most (when every bucket holds one). */
  want: number
  /** Spent here beyond what was taken before: taken now, whatever the level. */
  debt: number
}

/** What a shared store answered: whether every bucket held one, the levels left, and what was taken. */
export interface BucketGrant {
  ok: boolean
  levels: { requests?: number; tokens?: number }
  granted: { requests?: number; tokens?: number }
}

/** A key's rate-limit buckets kept where several instances share them. */
export interface BucketStore {
  /** Where, for messages (no secret in it). */
  where: string
  isUp(): boolean
  /** Whether keys are refused while the store is down (rather than checked from memory). */
  failClosed(): boolean
  /** Refill, take the debts, and, when `check` and every bucket holds one, take what is wanted: all at once, on the store. */
  take(keyId: string, asks: BucketAsk[], check: boolean): Promise<BucketGrant>
}

/** Every secret starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const KEY_PREFIX = "nx-"

/** Whether a key is usable at `now`. */
export function isLive(key: ApiKey, now: number): boolean {
  return key.revokedAt === undefined && (key.expiresAt === undefined || key.expiresAt > now)
}
