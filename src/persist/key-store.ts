/**
 * Client API keys and their monthly spend in the state file. Tables are created with
 * the first key saved; a Nexus without keys never opens SQLite for them.
 * @module
 */
import type { Database } from "bun:sqlite"
import type { ApiKey, KeyStore } from "../core/api-key.ts"
import { preparedOnce, type StateFile } from "./state-file.ts"

function prepare(db: Database) {
  db.run(`CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL,
    prefix TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
  )`)
  db.run(`CREATE TABLE IF NOT EXISTS api_key_spend (
    month TEXT NOT NULL,
    key_id TEXT NOT NULL,
    usd REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (month, key_id)
  )`)
  return {
    save: db.prepare("INSERT OR REPLACE INTO api_keys (id, name, hash, prefix, settings, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
    all: db.prepare("SELECT id, name, hash, prefix, settings, created_at, expires_at, revoked_at FROM api_keys ORDER BY created_at"),
    spend: db.prepare("SELECT key_id, usd FROM api_key_spend WHERE month = ?"),
    addSpend: db.prepare(
      "INSERT INTO api_key_spend (month, key_id, usd) VALUES (?, ?, ?) ON CONFLICT (month, key_id) DO UPDATE SET usd = usd + excluded.usd"
    ),
  }
}

interface Row {
  id: string
  name: string
  hash: string
  prefix: string
  settings: string
  created_at: number
  expires_at: number | null
  revoked_at: number | null
}

/** The limits, kept as one JSON column so a new limit needs no migration. */
type Settings = Pick<ApiKey, "models" | "privacy" | "rpm" | "tpm" | "maxConcurrent" | "monthlyUsd">

export function sqliteKeyStore(file: StateFile): KeyStore {
  const ready = preparedOnce(prepare)
  return {
    load() {
      const db = file.existing()
      if (!db) return []
      return (ready(db).all.all() as Row[]).map((r) => {
        const s = JSON.parse(r.settings) as Settings
        return {
          id: r.id,
          name: r.name,
          hash: r.hash,
          prefix: r.prefix,
          ...s,
          createdAt: r.created_at,
          expiresAt: r.expires_at ?? undefined,
          revokedAt: r.revoked_at ?? undefined,
        }
      })
    },
    save(k) {
      const settings: Settings = { models: k.models, privacy: k.privacy, rpm: k.rpm, tpm: k.tpm, maxConcurrent: k.maxConcurrent, monthlyUsd: k.monthlyUsd }
      ready(file.open()).save.run(k.id, k.name, k.hash, k.prefix, JSON.stringify(settings), k.createdAt, k.expiresAt ?? null, k.revokedAt ?? null)
    },
    spend(month) {
      const out = new Map<string, number>()
      const db = file.existing()
      if (!db) return out
      for (const r of ready(db).spend.all(month) as { key_id: string; usd: number }[]) out.set(r.key_id, r.usd)
      return out
    },
    addSpend(month, keyId, usd) {
      ready(file.open()).addSpend.run(month, keyId, usd)
    },
  }
}
