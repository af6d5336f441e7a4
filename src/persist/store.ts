/**
 * What must survive a restart, in `bun:sqlite` under the data directory: backends
 * added at run time through the admin API or the CLI.
 * @module
 */
import type { Database } from "bun:sqlite"
import { homedir } from "node:os"
import { join } from "node:path"
import type { BackendType } from "../config/types.ts"
import type { Zone } from "../core/backend.ts"
import { preparedOnce, type StateFile } from "./state-file.ts"

export interface StoredBackend {
  id: string
  name: string
  url: string
  type: BackendType
  priority: number
  api_key_env?: string
  max_concurrent?: number
  /** Undefined in rows saved by versions that did not keep it. */
  zone?: Zone
}

/**
 * The data directory: `$NEXUS_DATA_DIR`, `[server] data_dir`, systemd's
 * `$STATE_DIRECTORY`, else the platform's per-user state directory.
 */
export function dataDir(configured: string | undefined, env: Record<string, string | undefined> = process.env): string {
  if (env.NEXUS_DATA_DIR) return env.NEXUS_DATA_DIR
  if (configured) return configured
  if (env.STATE_DIRECTORY) return env.STATE_DIRECTORY.split(":")[0]!
  const home = env.HOME ?? homedir()
  if (process.platform === "darwin") return join(home, "Library", "Application Support", "Nexus")
  if (process.platform === "win32") return join(env.LOCALAPPDATA ?? join(home, "AppData", "Local"), "Nexus")
  return join(env.XDG_STATE_HOME ?? join(home, ".local", "state"), "nexus")
}

/** A change another instance made to the backends they share. */
export type BackendChange = { type: "saved"; backend: StoredBackend } | { type: "deleted"; id: string } | { type: "drained" | "undrained"; id: string }

/**
 * Where runtime backends are kept. A store shared by several instances also keeps which
 * backends an operator drained, and tells of changes made elsewhere.
 */
export interface Store {
  path: string
  saveBackend(b: StoredBackend): void
  deleteBackend(id: string): void
  backends(): StoredBackend[]
  close(): void
  setDrained?(id: string, drained: boolean): void
  /** Ids drained by an operator on any instance. */
  drained?(): string[]
  watch?(listener: (change: BackendChange) => void): void
}

function prepare(db: Database) {
  db.run(`CREATE TABLE IF NOT EXISTS backends (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    type TEXT NOT NULL,
    priority INTEGER NOT NULL,
    api_key_env TEXT,
    max_concurrent INTEGER,
    added_at TEXT NOT NULL
  )`)
  // Files written before zones were kept lack the column.
  const columns = db.query("PRAGMA table_info(backends)").all() as { name: string }[]
  if (!columns.some((c) => c.name === "zone")) db.run("ALTER TABLE backends ADD COLUMN zone TEXT")
  return {
    insert: db.prepare(
      "INSERT OR REPLACE INTO backends (id, name, url, type, priority, api_key_env, max_concurrent, zone, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    remove: db.prepare("DELETE FROM backends WHERE id = ?"),
    all: db.prepare("SELECT id, name, url, type, priority, api_key_env, max_concurrent, zone FROM backends ORDER BY added_at"),
  }
}

/** Backends kept in the state file (created with the first one saved). */
export function openStore(file: StateFile): Store {
  const ready = preparedOnce(prepare)

  return {
    path: file.path,
    saveBackend(b: StoredBackend): void {
      ready(file.open()).insert.run(b.id, b.name, b.url, b.type, b.priority, b.api_key_env ?? null, b.max_concurrent ?? null, b.zone ?? null, new Date().toISOString())
    },
    deleteBackend(id: string): void {
      const db = file.existing()
      if (db) ready(db).remove.run(id)
    },
    backends(): StoredBackend[] {
      let db: Database | undefined
      try {
        db = file.existing()
      } catch {
        // An unreadable state file is said at start (open.ts), and the ledger reports it.
        return []
      }
      if (!db) return []
      return (ready(db).all.all() as (StoredBackend & { api_key_env: string | null; max_concurrent: number | null; zone: Zone | null })[]).map((r) => ({
        ...r,
        api_key_env: r.api_key_env ?? undefined,
        max_concurrent: r.max_concurrent ?? undefined,
        zone: r.zone ?? undefined,
      }))
    },
    close(): void {
      file.close()
    },
  }
}
