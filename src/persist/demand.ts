/**
 * Demand by hour of the week, per model (what fleet pre-warming learns from), kept in
 * the state file. Each instance keeps its own: the rows are small and every instance
 * sees the requests it serves. The table is created with the first row saved.
 * @module
 */
import type { Database } from "bun:sqlite"
import { preparedOnce, type StateFile } from "./state-file.ts"

/** One model's requests in one hour of the week, decayed as of `at` (epoch ms). */
export interface DemandRow {
  model: string
  /** 0 = Sunday 00:00-01:00 … 167 = Saturday 23:00-24:00 (local time). */
  hour: number
  count: number
  at: number
}

export interface DemandStore {
  rows(): DemandRow[]
  save(rows: readonly DemandRow[]): void
}

function prepare(db: Database) {
  db.run(`CREATE TABLE IF NOT EXISTS fleet_demand (
    model TEXT NOT NULL,
    hour INTEGER NOT NULL,
    count REAL NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (model, hour)
  )`)
  return {
    upsert: db.prepare("INSERT OR REPLACE INTO fleet_demand (model, hour, count, at) VALUES (?, ?, ?, ?)"),
    all: db.prepare("SELECT model, hour, count, at FROM fleet_demand"),
  }
}

export function openDemandStore(file: StateFile): DemandStore {
  const ready = preparedOnce(prepare)
  return {
    rows(): DemandRow[] {
      try {
        const db = file.existing()
        return db ? (ready(db).all.all() as DemandRow[]) : []
      } catch {
        // An unreadable state file is said at start (open.ts): demand starts afresh.
        return []
      }
    },
    save(rows) {
      if (!rows.length) return
      const db = file.open()
      const s = ready(db)
      db.transaction(() => {
        for (const r of rows) s.upsert.run(r.model, r.hour, r.count, r.at)
      })()
    },
  }
}
