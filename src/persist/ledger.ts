/**
 * The spend ledger: what each request cost, by UTC month, in `bun:sqlite` next to the
 * rest of the state, so month-to-date spend survives a restart, a crash or a reload.
 * A new month starts at 00:00 UTC on the 1st: its key changes, nothing is reset.
 * @module
 */
import type { Database } from "bun:sqlite"
import type { StateFile } from "./state-file.ts"

export interface SpendRow {
  model: string
  backend: string
  usd: number
  requests: number
  /** Requests whose cost was estimated (the backend reported no usage). */
  estimated: number
}

export type Ledger = ReturnType<typeof openLedger>

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
    add: db.prepare(`INSERT INTO spend (month, model, backend, usd, requests, estimated) VALUES (?, ?, ?, ?, 1, ?)
    ON CONFLICT (month, model, backend) DO UPDATE SET usd = usd + excluded.usd, requests = requests + 1, estimated = estimated + excluded.estimated`),
    total: db.prepare("SELECT COALESCE(SUM(usd), 0) AS usd FROM spend WHERE month = ?"),
    rows: db.prepare("SELECT model, backend, usd, requests, estimated FROM spend WHERE month = ? ORDER BY usd DESC, model, backend"),
  }
}

/**
 * A ledger in the state file (one in memory for tests, or without a data dir). The file
 * is written with the first cost recorded; until then spend is 0.
 */
export function openLedger(file: StateFile) {
  let statements: ReturnType<typeof prepare> | undefined
  const ready = (db: Database) => (statements ??= prepare(db))
  // Month-to-date kept in memory too: the budget stage reads it on every request.
  let cached = { month: "", usd: 0 }

  function monthToDate(now = Date.now()): number {
    const month = monthOf(now)
    if (cached.month !== month) {
      const db = file.existing()
      cached = { month, usd: db ? (ready(db).total.get(month) as { usd: number }).usd : 0 }
    }
    return cached.usd
  }

  return {
    monthToDate,
    record(entry: { at: number; model: string; backend: string; usd: number; estimated?: boolean }): void {
      const month = monthOf(entry.at)
      ready(file.open()).add.run(month, entry.model, entry.backend, entry.usd, entry.estimated ? 1 : 0)
      if (cached.month === month) cached.usd += entry.usd
    },
    rows(month = monthOf(Date.now())): SpendRow[] {
      const db = file.existing()
      return db ? (ready(db).rows.all(month) as SpendRow[]) : []
    },
    close(): void {
      file.close()
    },
  }
}
