/**
 * The spend ledger: what each request cost, by UTC month, in `bun:sqlite` next to the
 * rest of the state, so month-to-date spend survives a restart, a crash or a reload.
 * A new month starts at 00:00 UTC on the 1st: its key changes, nothing is reset.
 *
 * The month-to-date figure the budget reads is kept in memory and never depends on the
 * file being writable: a cost the file cannot take (disk full, I/O error, read-only) is
 * still counted, kept, and written with the next write that succeeds. A file that cannot
 * be read is not "nothing spent": `health()` says so, and reading is tried again.
 * @module
 */
import type { Database } from "bun:sqlite"
import { preparedOnce, type StateFile } from "./state-file.ts"

export interface SpendRow {
  model: string
  backend: string
  usd: number
  requests: number
  /** Requests whose cost was estimated (the backend reported no usage). */
  estimated: number
}

export interface LedgerFault {
  operation: "read" | "write"
  error: Error
}

export interface LedgerHealth {
  /** Why the month's spend could not be read from the file; undefined once it was. */
  readError?: string
  /** Why the last write failed; undefined once one succeeded. */
  writeError?: string
  /** Writes that failed since start. */
  failedWrites: number
  /** Spend counted in memory that the file does not hold yet. */
  unsavedUsd: number
}

export type Ledger = ReturnType<typeof openLedger>

/** An unreadable file is tried again at most this often (the budget asks on every request). */
export const READ_RETRY_MS = 1000

/** `2026-11` for any instant in November 2026, UTC. */
export function monthOf(at: number | Date): string {
  return new Date(at).toISOString().slice(0, 7)
}

function prepare(db: Database) {
  db.run(`CREATE TABLE IF NOT EXISTS spend (
    month TEXT NOT NULL,
    model TEXT NOT NULL,
    backend TEXT NOT NULL,
    usd REAL NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    estimated INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (month, model, backend)
  )`)
  return {
    add: db.prepare(`INSERT INTO spend (month, model, backend, usd, requests, estimated) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (month, model, backend) DO UPDATE SET usd = usd + excluded.usd, requests = requests + excluded.requests, estimated = estimated + excluded.estimated`),
    total: db.prepare("SELECT COALESCE(SUM(usd), 0) AS usd FROM spend WHERE month = ?"),
    rows: db.prepare("SELECT model, backend, usd, requests, estimated FROM spend WHERE month = ? ORDER BY usd DESC, model, backend"),
  }
}

interface Unsaved extends SpendRow {
  month: string
}

export const asError = (err: unknown) => (err instanceof Error ? err : new Error(String(err)))

/** Adds `p` to the row `key` of `into`, or makes a copy of it that row. */
export function addRow<R extends SpendRow>(into: Map<string, R>, key: string, p: R): void {
  const row = into.get(key)
  if (!row) return void into.set(key, { ...p })
  row.usd += p.usd
  row.requests += p.requests
  row.estimated += p.estimated
}

/**
 * A month's rows with costs not written yet added in (`rows` is changed), in the order
 * the file gives them: most spent first, then by model and backend.
 */
export function withUnsent(rows: SpendRow[], unsent: Iterable<SpendRow>): SpendRow[] {
  for (const u of unsent) {
    const row = rows.find((r) => r.model === u.model && r.backend === u.backend)
    if (row) {
      row.usd += u.usd
      row.requests += u.requests
      row.estimated += u.estimated
    } else rows.push({ model: u.model, backend: u.backend, usd: u.usd, requests: u.requests, estimated: u.estimated })
  }
  return rows.sort((a, b) => b.usd - a.usd || a.model.localeCompare(b.model) || a.backend.localeCompare(b.backend))
}

/**
 * A ledger in the state file (one in memory for tests, or without a data dir). The file
 * is written with the first cost recorded; until then spend is 0. `onFault` hears of
 * every failed read or write (the ledger itself never throws for them).
 */
export function openLedger(file: StateFile, onFault?: (fault: LedgerFault) => void) {
  const ready = preparedOnce(prepare)
  /** The current month's total as the file holds it (with what was written since it was read). */
  let cached = { month: "", fileUsd: 0, read: false, triedAt: 0 }
  /** Costs the file has not taken yet, by month, model and backend (so bounded). */
  const unsaved = new Map<string, Unsaved>()
  const unsavedByMonth = new Map<string, number>()
  let readError: string | undefined
  let writeError: string | undefined
  let failedWrites = 0

  function fault(operation: LedgerFault["operation"], err: unknown): string {
    const error = asError(err)
    onFault?.({ operation, error })
    return error.message
  }

  function read(now: number): void {
    cached.triedAt = now
    try {
      const db = file.existing()
      cached.fileUsd = db ? (ready(db).total.get(cached.month) as { usd: number }).usd : 0
      cached.read = true
      readError = undefined
    } catch (err) {
      readError = fault("read", err)
    }
  }

  function monthToDate(now = Date.now()): number {
    const month = monthOf(now)
    if (cached.month !== month) {
      cached = { month, fileUsd: 0, read: false, triedAt: 0 }
      read(now)
    } else if (!cached.read && now - cached.triedAt >= READ_RETRY_MS) read(now)
    return cached.fileUsd + (unsavedByMonth.get(month) ?? 0)
  }

  /** Write what the file does not hold yet, in one transaction; on failure keep it all. */
  function flush(): void {
    try {
      const db = file.open()
      const { add } = ready(db)
      db.transaction(() => {
        for (const u of unsaved.values()) add.run(u.month, u.model, u.backend, u.usd, u.requests, u.estimated)
      })()
    } catch (err) {
      failedWrites++
      writeError = fault("write", err)
      return
    }
    writeError = undefined
    for (const u of unsaved.values()) if (u.month === cached.month) cached.fileUsd += u.usd
    unsaved.clear()
    unsavedByMonth.clear()
  }

  return {
    path: file.path,
    monthToDate,
    record(entry: { at: number; model: string; backend: string; usd: number; estimated?: boolean }): void {
      const month = monthOf(entry.at)
      addRow(unsaved, `${month}\n${entry.model}\n${entry.backend}`, { month, model: entry.model, backend: entry.backend, usd: entry.usd, requests: 1, estimated: entry.estimated ? 1 : 0 })
      unsavedByMonth.set(month, (unsavedByMonth.get(month) ?? 0) + entry.usd)
      flush()
    },
    /** The month's spend by model and backend, what the file has not taken yet included. */
    rows(month = monthOf(Date.now())): SpendRow[] {
      let rows: SpendRow[] = []
      try {
        const db = file.existing()
        if (db) rows = ready(db).rows.all(month) as SpendRow[]
      } catch (err) {
        fault("read", err)
      }
      if (!unsavedByMonth.has(month)) return rows
      return withUnsent(rows, [...unsaved.values()].filter((u) => u.month === month))
    },
    /** Why the month's spend cannot be read from the file, while it cannot. */
    readError: () => readError,
    health(): LedgerHealth {
      let unsavedUsd = 0
      for (const usd of unsavedByMonth.values()) unsavedUsd += usd
      return { readError, writeError, failedWrites, unsavedUsd }
    },
    close(): void {
      file.close()
    },
  }
}
