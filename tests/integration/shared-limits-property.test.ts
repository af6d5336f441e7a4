/**
 * Property: however requests of one key are spread over two instances sharing a real
 * redis-server, and whatever their rpm, the two together never admit more than the
 * bucket held (its burst plus what refilled meanwhile), and a key under its limit is
 * never refused while the other instance holds no share of it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import fc from "fast-check"
import type { ApiKey } from "../../src/core/api-key.ts"
import { NexusError } from "../../src/core/errors.ts"
import { createLogger } from "../../src/observability/log.ts"
import { connectState, type StateConnection } from "../../src/persist/redis/connection.ts"
import { redisBuckets } from "../../src/persist/redis/buckets.ts"
import { sharedKeyLimits } from "../../src/policy/key-limits-shared.ts"
import { redisBinary, startRedis, type TestRedis } from "../helpers/redis.ts"

let redis: TestRedis
const conns: StateConnection[] = []

beforeAll(async () => {
  if (!redisBinary) return
  redis = await startRedis()
  const log = createLogger({ level: "silent", format: "json" })
  for (let i = 0; i < 2; i++) conns.push(await connectState({ url: redis.url, on_unavailable: "open" }, {}, log))
})

afterAll(async () => {
  for (const c of conns) c.close()
  await redis?.stop()
})

async function admitted(limits: ReturnType<typeof sharedKeyLimits>, key: ApiKey): Promise<boolean> {
  try {
    await limits.admit(key)
    limits.release(key)
    return true
  } catch (err) {
    if (err instanceof NexusError && err.kind === "rate_limited") return false
    throw err
  }
}

describe.skipIf(!redisBinary)("shared key rate limits", () => {
  test("two instances together admit at most the bucket's burst plus refill, for every rpm and spread", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 400 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 8 }), async (rpm, spread, concurrency) => {
        const instances = conns.map((c) => sharedKeyLimits(redisBuckets(c)))
        const key: ApiKey = { id: crypto.randomUUID(), name: "p", hash: "h", prefix: "nx-p", privacy: "unrestricted", rpm, createdAt: 0 }
        const started = performance.now()
        let next = 0
        let ok = 0
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (next < spread.length) {
              const on = instances[spread[next++]! ? 1 : 0]!
              if (await admitted(on, key)) ok++
            }
          })
        )
        const refilled = ((performance.now() - started + 2) * rpm) / 60_000
        expect(ok).toBeLessThanOrEqual(rpm + refilled)
        // Below the limit nothing is refused: the shares only move what the bucket holds.
        if (spread.length <= rpm && spread.every((x) => x === spread[0])) expect(ok).toBe(spread.length)
      }),
      { numRuns: 200 }
    )
  })
})
