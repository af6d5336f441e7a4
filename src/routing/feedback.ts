/**
 * The one path from an attempt to everything that learns from it: the circuit breakers
 * first (so a closed circuit is visible to whoever the freed slot goes to), then the
 * registry (slot, counters, averages), whose release event wakes the queue.
 * @module
 */
import type { AttemptFeedback, AttemptReport } from "../core/outcome.ts"
import type { Registry } from "../registry/registry.ts"
import type { Breakers } from "./breaker.ts"

export function createFeedback(registry: Registry, breakers: Breakers): AttemptFeedback {
  return {
    acquire(b) {
      if (!registry.tryAcquire(b)) return false
      breakers.begin(b.id)
      return true
    },

    lacksNative(b, dialect) {
      registry.setLacksNative(b, dialect)
    },

    settle(r: AttemptReport) {
      const id = r.backend.id
      switch (r.verdict) {
        case "success":
          breakers.success(id)
          break
        case "failure":
          breakers.failure(id, r.reason ?? "failed")
          break
        case "rate_limited":
          breakers.cooldown(id, r.retryAfterSeconds ?? 1)
          break
        case "neutral":
          breakers.neutral(id)
      }
      registry.release(r.backend, {
        failed: r.verdict === "failure" || r.verdict === "rate_limited",
        errorSample: r.verdict === "failure" ? true : r.verdict === "success" ? false : undefined,
        latencyMs: r.latencyMs,
      })
    },
  }
}
