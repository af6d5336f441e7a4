/**
 * Token buckets of API keys on the shared state server, so a key's requests and tokens
 * per minute hold across every instance. One script refills a key's buckets by the
 * server's clock, checks that each holds at least one, and takes the request from its
 * requests bucket, atomically: two instances can never both take the last one.
 * @module
 */
import type { BucketLevels, BucketStore } from "../../core/api-key.ts"
import { PREFIX, type StateConnection } from "./connection.ts"

/** A bucket untouched for this long is full again anyway: the server may forget it. */
const IDLE_MS = 120_000

// KEYS: bucket hashes. ARGV: idle ms, then per bucket: per minute, amount to take if all allow (or to debit when ARGV[2] is "debit").
const TAKE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local levels, ok = {}, 1
for i = 1, #KEYS do
  local per = tonumber(ARGV[1 + i * 2])
  local b = redis.call('HMGET', KEYS[i], 'level', 'at')
  local level, at = tonumber(b[1]) or per, tonumber(b[2]) or now
  level = math.min(per, level + (now - at) * per / 60000)
  levels[i] = level
  if ARGV[2] ~= 'debit' and level < 1 then ok = 0 end
end
for i = 1, #KEYS do
  local take = tonumber(ARGV[2 + i * 2])
  if ok == 1 then levels[i] = levels[i] - take end
  redis.call('HSET', KEYS[i], 'level', tostring(levels[i]), 'at', now)
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
local out = { tostring(ok) }
for i = 1, #KEYS do out[i + 1] = tostring(levels[i]) end
return out`

const hashOf = (keyId: string, which: string) => `${PREFIX}bucket:${keyId}:${which}`

export function redisBuckets(conn: StateConnection): BucketStore {
  function run(keyId: string, mode: "take" | "debit", buckets: { which: "requests" | "tokens"; perMinute: number; amount: number }[]) {
    const keys = buckets.map((b) => hashOf(keyId, b.which))
    const args = [String(IDLE_MS), mode]
    for (const b of buckets) args.push(String(b.perMinute), String(b.amount))
    return conn.send("EVAL", [TAKE, String(keys.length), ...keys, ...args]) as Promise<string[]>
  }
  return {
    isUp: conn.isUp,
    failClosed: () => conn.onUnavailable === "closed",
    where: conn.url,
    async take(keyId, rpm, tpm): Promise<BucketLevels> {
      const buckets: { which: "requests" | "tokens"; perMinute: number; amount: number }[] = []
      if (rpm !== undefined) buckets.push({ which: "requests", perMinute: rpm, amount: 1 })
      if (tpm !== undefined) buckets.push({ which: "tokens", perMinute: tpm, amount: 0 })
      const out = await run(keyId, "take", buckets)
      const levels: BucketLevels = { ok: out[0] === "1" }
      // Levels as they were before this request took its one (its own bucket does that again).
      buckets.forEach((b, i) => (levels[b.which] = Number(out[i + 1]) + (levels.ok ? b.amount : 0)))
      return levels
    },
    debitTokens(keyId, tpm, tokens): void {
      run(keyId, "debit", [{ which: "tokens", perMinute: tpm, amount: tokens }]).catch(() => {})
    },
  }
}
