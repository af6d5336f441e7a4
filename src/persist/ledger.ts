/**
 * The spend ledger: what each request cost, by UTC month, in `bun:sqlite` next to the
 * rest of the state, so month-to-date spend survives a restart, a crash or a reload.
 * A new month starts at 00:00 UTC on the 1st: its key changes, nothing is reset.
 * @module
 */
import { Database } from "bun:sqlite"
import { mkdirSync } from "node:fs"
import { join } from "node:path"

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

/** A ledger in `dir` (nexus.sqlite), or in memory when `dir` is undefined (tests, no data dir). */
export function openLedger(dir: string | undefined) {
  if (dir) mkdirSync(dir, { recursive: true })
  const db = new Database(dir ? join(dir, "nexus.sqlite") : ":memory:", { create: true })
  db.run("PRAGMA journal_mode = WAL")
  db.run("PRAGMA busy_timeout = 2000")
  db.run(`CREATE TABLE IF NOT EXISTS spend (
    month TEXT NOT NULL,
    model TEXT NOT NULL,
    backend TEXT NOT NULL,
    usd REAL NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    estimated INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (month, model, backend)
  )`)
  const add = db.prepare(`INSERT INTO spend (month, model, backend, usd, requests, estimated) VALUES (?, ?, ?, ?, 1, ?)
    ON CONFLICT (month, model, backend) DO UPDATE SET usd = usd + excluded.usd, requests = requests + 1, estimated = estimated + excluded.estimated`)
  const total = db.prepare("SELECT COALESCE(SUM(usd), 0) AS usd FROM spend WHERE month = ?")
  const rows = db.prepare("SELECT model, backend, usd, requests, estimated FROM spend WHERE month = ? ORDER BY usd DESC, model, backend")
  // Month-to-date kept in memory too: the budget stage reads it on every request.
  let cached = { month: "", usd: 0 }

  function monthToDate(now = Date.now()): number {
    const month = monthOf(now)
    if (cached.month !== month) cached = { month, usd: (total.get(month) as { usd: number }).usd }
    return cached.usd
  }

  return {
    monthToDate,
    record(entry: { at: number; model: string; backend: string; usd: number; estimated?: boolean }): void {
      const month = monthOf(entry.at)
      add.run(month, entry.model, entry.backend, entry.usd, entry.estimated ? 1 : 0)
      if (cached.month === month) cached.usd += entry.usd
    },
    rows(month = monthOf(Date.now())): SpendRow[] {
      return rows.all(month) as SpendRow[]
    },
    close(): void {
      db.close()
    },
  }
}
