/**
 * Per-key token buckets: however requests arrive, a key never gets more than its burst
 * plus what the minute refilled since; requests in flight never exceed the limit and
 * always come back; and the reset headers read the way OpenAI writes them.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import type { ApiKey } from "../../src/core/api-key.ts"
import { NexusError } from "../../src/core/errors.ts"
import { createKeyLimits, goDuration } from "../../src/policy/key-limits.ts"

const key = (over: Partial<ApiKey>): ApiKey => ({ id: "k1", name: "k1", hash: "", prefix: "nx-", privacy: "unrestricted", createdAt: 0, ...over })

function tryAdmit(limits: ReturnType<typeof createKeyLimits>, k: ApiKey, now: number): NexusError | undefined {
  try {
    limits.admit(k, now)
    return undefined
  } catch (err) {
    return err as NexusError
  }
}

describe("requests per minute", () => {
  test("admitted requests never exceed the burst plus the refill since the first", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120 }), fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 300 }), (rpm, gaps) => {
        const limits = createKeyLimits()
        const k = key({ rpm })
        let now = 1_000_000
        const start = now
        let admitted = 0
        for (const gap of gaps) {
          now += gap
          const err = tryAdmit(limits, k, now)
          if (err) {
            expect(err.status).toBe(429)
            expect(err.retryAfterSeconds).toBeGreaterThanOrEqual(1)
            expect(err.headers?.["x-ratelimit-remaining-requests"]).toBe("0")
          } else {
            admitted++
            limits.release(k)
          }
          expect(admitted).toBeLessThanOrEqual(rpm + Math.floor(((now - start) * rpm) / 60_000))
        }
      }),
      { numRuns: 300 }
    )
  })

  test("a refused request waits no longer than Retry-After says", () => {
    const limits = createKeyLimits()
    const k = key({ rpm: 2 })
    limits.admit(k, 0)
    limits.admit(k, 0)
    const err = tryAdmit(limits, k, 0)!
    expect(err.code).toBe("rate_limit_exceeded")
    expect(tryAdmit(limits, k, err.retryAfterSeconds! * 1000)).toBeUndefined()
  })
})

describe("tokens and concurrency", () => {
  test("tokens reported after the answer are taken from the bucket; it refuses below one", () => {
    const limits = createKeyLimits()
    const k = key({ tpm: 600 })
    limits.admit(k, 0)
    limits.release(k)
    limits.spendTokens(k, 1000, 0)
    expect(tryAdmit(limits, k, 0)?.code).toBe("rate_limit_exceeded")
    // 600 per minute refill 10 per second: 401 tokens short takes 40.1 s.
    expect(tryAdmit(limits, k, 40_000)).toBeDefined()
    expect(tryAdmit(limits, k, 40_200)).toBeUndefined()
  })

  test("in flight never exceeds the limit, whatever the order of admissions and releases", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.boolean(), { maxLength: 200 }), (max, ops) => {
        const limits = createKeyLimits()
        const k = key({ maxConcurrent: max })
        let held = 0
        for (const admit of ops) {
          if (admit) {
            const err = tryAdmit(limits, k, 0)
            if (!err) held++
            else expect(err.code).toBe("concurrency_limit_exceeded")
          } else if (held > 0) {
            limits.release(k)
            held--
          }
          expect(limits.inFlight(k)).toBe(held)
          expect(held).toBeLessThanOrEqual(max)
        }
      }),
      { numRuns: 300 }
    )
  })

  test("reset durations as OpenAI writes them", () => {
    expect(goDuration(20)).toBe("20ms")
    expect(goDuration(1500)).toBe("1.5s")
    expect(goDuration(60_000)).toBe("1m0s")
    expect(goDuration(360_500)).toBe("6m0.5s")
  })
})
