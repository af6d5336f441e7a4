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

/** The levels of a key's buckets on a shared store, and whether the request was let in. */
export interface BucketLevels {
  ok: boolean
  requests?: number
  tokens?: number
}

/** A key's rate-limit buckets kept where several instances share them. */
export interface BucketStore {
  /** Where, for messages (no secret in it). */
  where: string
  isUp(): boolean
  /** Whether keys are refused while the store is down (rather than checked from memory). */
  failClosed(): boolean
  /** Refill, check both buckets hold one, and take the request: all at once, on the store. */
  take(keyId: string, rpm: number | undefined, tpm: number | undefined): Promise<BucketLevels>
  /** Take the tokens a finished request used (not waited for). */
  debitTokens(keyId: string, tpm: number, tokens: number): void
}

/** Every secret starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const KEY_PREFIX = "nx-"

/** Whether a key is usable at `now`. */
export function isLive(key: ApiKey, now: number): boolean {
  return key.revokedAt === undefined && (key.expiresAt === undefined || key.expiresAt > now)
}
