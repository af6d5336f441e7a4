/**
 * Per-key rate limits shared by several instances: the buckets of a key with rpm or tpm
 * are checked and taken on the shared store in one atomic step, then mirrored here, so
 * the decision, the 429 and the x-ratelimit-* headers are those of the local limits, on
 * the levels every instance sees. Concurrency stays per instance (an instance that dies
 * must not hold slots forever). While the store is down, keys are checked from memory
 * with what this instance last knew, or refused when the configuration says so.
 * @module
 */
import type { ApiKey, BucketStore } from "../core/api-key.ts"
import { NexusError } from "../core/errors.ts"
import { createKeyLimits, type KeyLimits } from "./key-limits.ts"

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
      return store.take(key.id, key.rpm, key.tpm).then(
        (levels) => {
          local.sync(key, levels)
          local.admit(key)
        },
        () => {
          if (store.failClosed()) throw unreachable(store)
          local.admit(key)
        }
      )
    },
    spendTokens(key: ApiKey, tokens: number, now?: number): void {
      local.spendTokens(key, tokens, now)
      if (key.tpm !== undefined && tokens > 0 && store.isUp()) store.debitTokens(key.id, key.tpm, tokens)
    },
  }
}
