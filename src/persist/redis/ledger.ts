/**
 * The spend ledger on the shared state server: every instance adds its costs to one
 * hash per UTC month, atomically (a script of HINCRBYFLOATs, with an expiry, that
 * publishes the new total), and reads the month-to-date total from memory: the total
 * the server last returned or published, plus its own costs not acknowledged yet. So
 * the budget check costs nothing on the request path, and an instance sees the others'
 * spend as soon as the message arrives. While the server is down, costs are kept in
 * memory and sent when it returns; nothing is lost, and the totals reconcile.
 * @module
 */
import type { LedgerFault, LedgerHealth, SpendRow } from "../ledger.ts"
import { addRow, asError, monthOf, withUnsent } from "../ledger.ts"
import { MONTH_TTL_SECONDS, PREFIX, type StateConnection } from "./connection.ts"

/** Missed messages (a reconnecting subscriber) are made up for this often. */
const REFRESH_MS = 1000
const CHANNEL = "spend"

const ADD = `
local total = '0'
for i = 3, #ARGV, 2 do
  local v = redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i], ARGV[i + 1])
  if ARGV[i] == 'total' then total = v end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], KEYS[1] .. ' ' .. total)
return total`

/** A cost not sent yet, summed by model and backend: a row of the month's spend. */
type Pending = SpendRow

const hashOf = (month: string) => `${PREFIX}spend:${month}`
const SEP = "\t"

export function createRedisLedger(conn: StateConnection) {
  let onFault: ((fault: LedgerFault) => void) | undefined
  /** The global total of `month` as the server last said it (only ever grows within a month). */
  let remote = { month: "", usd: 0, read: false }
  /** Costs not sent yet, by month, then model and backend. */
  let pending = new Map<string, Map<string, Pending>>()
  /** Costs sent and not acknowledged yet, by month. */
  const sending = new Map<string, number>()
  let rowsCache: { month: string; rows: SpendRow[] } = { month: "", rows: [] }
  let writeError: string | undefined
  let readError: string | undefined
  let failedWrites = 0
  let flushing = false
  let scheduled = false
  let again = false

  const fault = (operation: LedgerFault["operation"], err: unknown): string => {
    const error = asError(err)
    onFault?.({ operation, error })
    return error.message
  }

  function heard(month: string, usd: number): void {
    if (month !== remote.month) {
      if (month < remote.month) return
      remote = { month, usd: 0, read: false }
    }
    remote.read = true
    if (usd > remote.usd) remote.usd = usd
  }

  function sumOf(month: string): number {
    let n = sending.get(month) ?? 0
    for (const p of pending.get(month)?.values() ?? []) n += p.usd
    return n
  }

  async function refresh(): Promise<void> {
    const month = monthOf(Date.now())
    try {
      const all = ((await conn.send("HGETALL", [hashOf(month)])) ?? {}) as Record<string, string>
      heard(month, Number(all.total ?? 0))
      rowsCache = { month, rows: rowsOf(all) }
      readError = undefined
    } catch (err) {
      if (!remote.read || remote.month !== month) readError = fault("read", err)
    }
  }

  async function flush(): Promise<void> {
    if (flushing) {
      again = true
      return
    }
    flushing = true
    try {
      do {
        again = false
        const batch = pending
        if (batch.size === 0) break
        pending = new Map()
        // A batch the server refused waits for the next tick or reconnection, not a loop.
        if (!(await send(batch))) break
      } while (again && pending.size > 0 && conn.isUp())
    } finally {
      flushing = false
    }
  }

  async function send(batch: Map<string, Map<string, Pending>>): Promise<boolean> {
    let sent = true
    for (const [month, entries] of batch) {
      const args = [String(MONTH_TTL_SECONDS), PREFIX + CHANNEL]
      let usd = 0
      for (const p of entries.values()) {
        const f = `${p.model}${SEP}${p.backend}`
        args.push(`u${SEP}${f}`, String(p.usd), `r${SEP}${f}`, String(p.requests), `e${SEP}${f}`, String(p.estimated))
        usd += p.usd
      }
      args.push("total", String(usd))
      sending.set(month, (sending.get(month) ?? 0) + usd)
      try {
        const total = (await conn.send("EVAL", [ADD, "1", hashOf(month), ...args])) as string
        heard(month, Number(total))
        writeError = undefined
      } catch (err) {
        sent = false
        failedWrites++
        writeError = fault("write", err)
        // Kept for the next try: merged back in front of what came meanwhile.
        const into = pending.get(month) ?? new Map<string, Pending>()
        for (const [k, p] of entries) addRow(into, k, p)
        pending.set(month, into)
      } finally {
        const left = (sending.get(month) ?? 0) - usd
        if (left <= 1e-12) sending.delete(month)
        else sending.set(month, left)
      }
    }
    return sent
  }

  conn.subscribe(CHANNEL, (message) => {
    const space = message.lastIndexOf(" ")
    const key = message.slice(0, space)
    if (key.startsWith(hashOf(""))) heard(key.slice(hashOf("").length), Number(message.slice(space + 1)))
  })
  conn.onChange((up) => {
    if (up) void refresh().then(flush)
  })
  const timer = setInterval(() => {
    if (!conn.isUp()) return
    void refresh()
    void flush()
  }, REFRESH_MS)
  timer.unref()

  return {
    path: conn.url,
    /** Who hears of every failed read or write. */
    onFault(fn: (fault: LedgerFault) => void): void {
      onFault = fn
    },
    /** Read once before serving, so the first request already sees the month's spend. */
    ready: refresh,
    monthToDate(now = Date.now()): number {
      const month = monthOf(now)
      return (remote.month === month ? remote.usd : 0) + sumOf(month)
    },
    record(entry: { at: number; model: string; backend: string; usd: number; estimated?: boolean }): void {
      const month = monthOf(entry.at)
      let m = pending.get(month)
      if (!m) pending.set(month, (m = new Map()))
      addRow(m, `${entry.model}\n${entry.backend}`, { model: entry.model, backend: entry.backend, usd: entry.usd, requests: 1, estimated: entry.estimated ? 1 : 0 })
      // Costs of one tick go out together; the send never waits on the request path.
      if (scheduled) return
      scheduled = true
      queueMicrotask(() => {
        scheduled = false
        void flush()
      })
    },
    rows(month = monthOf(Date.now())): SpendRow[] {
      const rows = rowsCache.month === month ? rowsCache.rows.map((r) => ({ ...r })) : []
      return withUnsent(rows, pending.get(month)?.values() ?? [])
    },
    /** Why the month's spend is not known: never read, or the server is down and that must close. */
    readError(): string | undefined {
      if (readError !== undefined) return readError
      const down = `the shared state ${conn.url} is unreachable (${conn.lastError() ?? "connection closed"})`
      // Never read is unknown, not $0: what the others spent is not known yet.
      if (remote.month !== monthOf(Date.now()) || !remote.read) return conn.isUp() ? "the month's spend is not read from the shared state yet" : down
      return !conn.isUp() && conn.onUnavailable === "closed" ? down : undefined
    },
    health(): LedgerHealth {
      let unsavedUsd = 0
      for (const month of pending.keys()) unsavedUsd += sumOf(month)
      return { readError, writeError, failedWrites, unsavedUsd }
    },
    /** Send what is not sent yet (at a graceful stop). */
    flush,
    close(): void {
      clearInterval(timer)
    },
  }
}

function rowsOf(all: Record<string, string>): SpendRow[] {
  const rows = new Map<string, SpendRow>()
  for (const [field, value] of Object.entries(all)) {
    const [kind, model, backend] = field.split(SEP)
    if (model === undefined || backend === undefined) continue
    const k = `${model}\n${backend}`
    let row = rows.get(k)
    if (!row) rows.set(k, (row = { model, backend, usd: 0, requests: 0, estimated: 0 }))
    if (kind === "u") row.usd = Number(value)
    else if (kind === "r") row.requests = Number(value)
    else if (kind === "e") row.estimated = Number(value)
  }
  return [...rows.values()]
}
