/**
 * Token buckets of API keys on the shared state server, so a key's requests and tokens
 * per minute hold across every instance. One script refills a key's buckets by the
 * server's clock, takes what was spent beyond earlier grants, checks that each holds at
 * least one, and grants what an instance asked for, atomically: what all instances
 * spend never exceeds what the buckets held.
 * @module
 */
import type { BucketAsk, BucketGrant, BucketStore } from "../../core/api-key.ts"
import { PREFIX, type StateConnection } from "./connection.ts"

/** A bucket untouched for this long is full again anyway: the server may forget it. */
const IDLE_MS = 120_000

// KEYS: bucket hashes. ARGV: idle ms, "check" or not, then per bucket: per minute, want, debt.
const TAKE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local levels, ok = {}, 1
for i = 1, #KEYS do
  local per = tonumber(ARGV[i * 3])
  local b = redis.call('HMGET', KEYS[i], 'level', 'at')
  local level, at = tonumber(b[1]) or per, tonumber(b[2]) or now
  level = math.min(per, level + (now - at) * per / 60000) - tonumber(ARGV[i * 3 + 2])
  levels[i] = level
  if level < 1 then ok = 0 end
end
if ARGV[2] ~= 'check' then ok = 0 end
local out = { tostring(ok) }
for i = 1, #KEYS do
  local grant = 0
  if ok == 1 then grant = math.max(1, math.min(tonumber(ARGV[i * 3 + 1]), math.floor(levels[i]))) end
  levels[i] = levels[i] - grant
  redis.call('HSET', KEYS[i], 'level', tostring(levels[i]), 'at', now)
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
  out[i * 2] = tostring(levels[i])
  out[i * 2 + 1] = tostring(grant)
end
return out`

const hashOf = (keyId: string, which: string) => `${PREFIX}bucket:${keyId}:${which}`

export function redisBuckets(conn: StateConnection): BucketStore {
  let sha: string | undefined
  async function run(keys: string[], args: string[]): Promise<string[]> {
    // The script's hash, not its text, on every request; loaded again after a restart.
    if (sha) {
      try {
        return (await conn.send("EVALSHA", [sha, String(keys.length), ...keys, ...args])) as string[]
      } catch (err) {
        if (!String((err as Error).message).includes("NOSCRIPT")) throw err
      }
    }
    sha = (await conn.send("SCRIPT", ["LOAD", TAKE])) as string
    return (await conn.send("EVALSHA", [sha, String(keys.length), ...keys, ...args])) as string[]
  }
  return {
    isUp: conn.isUp,
    failClosed: () => conn.onUnavailable === "closed",
    where: conn.url,
    async take(keyId: string, asks: BucketAsk[], check: boolean): Promise<BucketGrant> {
      const args = [String(IDLE_MS), check ? "check" : "debit"]
      for (const a of asks) args.push(String(a.perMinute), String(a.want), String(a.debt))
      const out = await run(
        asks.map((a) => hashOf(keyId, a.which)),
        args
      )
      const grant: BucketGrant = { ok: out[0] === "1", levels: {}, granted: {} }
      asks.forEach((a, i) => {
        grant.levels[a.which] = Number(out[i * 2 + 1])
        grant.granted[a.which] = Number(out[i * 2 + 2])
      })
      return grant
    },
  }
}
