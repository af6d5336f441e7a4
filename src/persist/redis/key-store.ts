/**
 * Client API keys and their monthly spend on the shared state server. Keys are one hash
 * (id -> JSON) mirrored in memory: checking a request's key never leaves the process,
 * and a key saved by any instance is published so every other one has it at once.
 * A key's spend is added atomically (HINCRBYFLOAT with an expiry, published); what the
 * server has not acknowledged is kept and sent again, so nothing is lost while it is down.
 * @module
 */
import type { ApiKey, KeyStore } from "../../core/api-key.ts"
import type { Logger } from "../../core/logger.ts"
import { monthOf } from "../ledger.ts"
import { MONTH_TTL_SECONDS, PREFIX, type StateConnection } from "./connection.ts"

const KEYS = `${PREFIX}keys`
const KEYS_CHANNEL = "keys"
const SPEND_CHANNEL = "key-spend"
const RETRY_MS = 1000
const RESYNC_TICKS = 10

const ADD_SPEND = `
local total = redis.call('HINCRBYFLOAT', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], KEYS[1] .. ' ' .. ARGV[1] .. ' ' .. total)
return total`

const spendHash = (month: string) => `${PREFIX}key-spend:${month}`

export function createRedisKeyStore(conn: StateConnection, log: Logger) {
  const mirror = new Map<string, ApiKey>()
  const listeners: ((key: ApiKey) => void)[] = []
  /** Keys saved here the server has not taken yet. */
  const unsent = new Map<string, ApiKey>()
  /**
   * Per month and key: the others' spend (the server's total less what this instance
   * added, which its own counters hold), what this instance had acknowledged, and sends
   * in flight (while one is, a published total may or may not include it: ignored).
   */
  const months = new Map<string, { others: Map<string, number>; mine: Map<string, number>; sending: Map<string, number>; loaded: boolean }>()
  const queued: { month: string; id: string; usd: number }[] = []

  const stateOf = (month: string) => {
    let m = months.get(month)
    if (!m) months.set(month, (m = { others: new Map(), mine: new Map(), sending: new Map(), loaded: false }))
    return m
  }
  /** Months whose published totals were set aside while a send was in flight: read again. */
  const stale = new Set<string>()
  function heard(month: string, id: string, total: number): void {
    const m = stateOf(month)
    if (m.sending.get(id)) return void stale.add(month)
    const others = total - (m.mine.get(id) ?? 0)
    if (others > (m.others.get(id) ?? 0)) m.others.set(id, others)
  }

  function learn(json: string): void {
    const key = JSON.parse(json) as ApiKey
    // A change made here and not sent yet is newer than what the server holds.
    if (unsent.has(key.id)) return
    const had = mirror.get(key.id)
    if (had && JSON.stringify(had) === json) return
    mirror.set(key.id, key)
    for (const l of listeners) l(key)
  }

  async function loadAll(): Promise<void> {
    const all = ((await conn.send("HGETALL", [KEYS])) ?? {}) as Record<string, string>
    for (const json of Object.values(all)) learn(json)
    // Keys are never deleted: one the server lacks, it lost (restarted without its data).
    // Written back only where still missing, so the first instance to notice restores it.
    for (const [id, key] of mirror) if (all[id] === undefined) await conn.send("HSETNX", [KEYS, id, JSON.stringify(key)])
  }

  /** What the server holds for `month`, by key (those with a send in flight excepted). */
  async function loadSpend(month: string): Promise<void> {
    const all = ((await conn.send("HGETALL", [spendHash(month)])) ?? {}) as Record<string, string>
    for (const [id, total] of Object.entries(all)) heard(month, id, Number(total))
    stateOf(month).loaded = true
  }

  const sends = new Set<Promise<void>>()
  function track(p: Promise<void>): void {
    sends.add(p)
    void p.finally(() => sends.delete(p))
  }
  async function sendKey(key: ApiKey): Promise<void> {
    try {
      const json = JSON.stringify(key)
      await conn.send("HSET", [KEYS, key.id, json])
      await conn.send("PUBLISH", [PREFIX + KEYS_CHANNEL, json])
      if (unsent.get(key.id) === key) unsent.delete(key.id)
    } catch (err) {
      log.error(`cannot save API key '${key.name}' to the shared state ${conn.url} (kept here, sent when it returns): ${(err as Error).message}`)
    }
  }

  let spending = false
  async function sendSpend(): Promise<void> {
    if (spending) return
    spending = true
    try {
      await sendQueued()
    } finally {
      spending = false
    }
  }
  async function sendQueued(): Promise<void> {
    while (queued.length > 0 && conn.isUp()) {
      const q = queued[0]!
      const m = stateOf(q.month)
      m.sending.set(q.id, (m.sending.get(q.id) ?? 0) + 1)
      try {
        const total = Number(await conn.send("EVAL", [ADD_SPEND, "1", spendHash(q.month), q.id, String(q.usd), String(MONTH_TTL_SECONDS), PREFIX + SPEND_CHANNEL]))
        queued.shift()
        m.mine.set(q.id, (m.mine.get(q.id) ?? 0) + q.usd)
        m.sending.set(q.id, m.sending.get(q.id)! - 1)
        heard(q.month, q.id, total)
        if (stale.has(q.month) && queued.length === 0) {
          stale.delete(q.month)
          loadSpend(q.month).catch(() => stale.add(q.month))
        }
      } catch {
        m.sending.set(q.id, m.sending.get(q.id)! - 1)
        return
      }
    }
  }

  async function reconcile(): Promise<void> {
    for (const key of [...unsent.values()]) await sendKey(key)
    await sendSpend()
    await loadAll().catch(() => {})
    for (const month of months.keys()) await loadSpend(month).catch(() => {})
  }

  conn.subscribe(KEYS_CHANNEL, (json) => {
    try {
      learn(json)
    } catch (err) {
      log.warn(`ignored an API key message that is not one: ${(err as Error).message}`)
    }
  })
  conn.subscribe(SPEND_CHANNEL, (message) => {
    const [hash, id, total] = message.split(" ")
    if (hash?.startsWith(spendHash("")) && id && total) heard(hash.slice(spendHash("").length), id, Number(total))
  })
  conn.onChange((up) => {
    if (up) void reconcile().catch(() => {})
  })
  conn.onResync(() => void reconcile().catch(() => {}))
  let ticks = 0
  const timer = setInterval(() => {
    if (!conn.isUp()) return
    // Now and then, whatever was missed: keys are few.
    if (++ticks % RESYNC_TICKS === 0) return void reconcile().catch(() => {})
    if (queued.length > 0 || unsent.size > 0) return void reconcile().catch(() => {})
    for (const month of stale) {
      stale.delete(month)
      loadSpend(month).catch(() => stale.add(month))
    }
  }, RETRY_MS)
  timer.unref()

  const store: KeyStore & { ready(): Promise<void>; flush(): Promise<void>; close(): void } = {
    ready: () => Promise.all([loadAll(), loadSpend(monthOf(Date.now()))]).then(() => {}),
    load: () => [...mirror.values()],
    save(key) {
      mirror.set(key.id, key)
      unsent.set(key.id, key)
      // While the server is down the key acts here at once and reaches the others when it returns.
      if (conn.isUp()) track(sendKey(key))
      else log.warn(`API key '${key.name}' is saved on this instance only until the shared state ${conn.url} returns`)
    },
    spend(month) {
      const m = stateOf(month)
      // Never read is unknown, not $0: the caller asks again (and caps stay closed meanwhile).
      if (!m.loaded) {
        if (conn.isUp()) loadSpend(month).catch(() => {})
        throw new Error(`the keys' spend is not read from the shared state ${conn.url} yet`)
      }
      // The live map: the others' spend arrives in it as it is published.
      return m.others
    },
    addSpend(month, id, usd) {
      queued.push({ month, id, usd })
      void sendSpend()
    },
    async saved() {
      await Promise.all(sends)
    },
    watch(listener) {
      listeners.push(listener)
    },
    /** Send what is not sent yet (at a graceful stop). */
    async flush() {
      await Promise.all(sends)
      await sendSpend()
    },
    close() {
      clearInterval(timer)
    },
  }
  return store
}
