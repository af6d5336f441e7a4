/**
 * Responses API answers Nexus made itself (by translating for a server without the
 * Responses API), kept in the state file so a client can continue the conversation
 * (`previous_response_id`) or read the response back. Each row holds the whole
 * conversation before the response (its input, earlier turns included) and the response
 * object, so a continuation never needs a chain of rows that may have expired.
 * A row remembers whether its conversation was restricted, so a continuation stays so
 * (rows kept before that was recorded have none: their model's policy then decides).
 * Bounded twice: rows expire after `max_age_days`, and beyond `max_stored` the oldest go.
 * @module
 */
import type { Database } from "bun:sqlite"
import { NexusError } from "../core/errors.ts"
import { preparedOnce, type StateFile } from "./state-file.ts"

type Obj = Record<string, unknown>

export interface StoredResponse {
  /** Every input item of the conversation up to this response (earlier turns' input and output). */
  input: Obj[]
  /** The response object as the client got it. */
  response: Obj
  /** The conversation was restricted (privacy); undefined for rows kept before this was recorded. */
  restricted?: boolean
}

export interface ResponseLimits {
  maxStored: number
  maxAgeMs: number
}

export type ResponseStore = ReturnType<typeof openResponseStore>

function prepare(db: Database) {
  db.run(`CREATE TABLE IF NOT EXISTS responses (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    input TEXT NOT NULL,
    response TEXT NOT NULL,
    restricted INTEGER
  )`)
  // Tables made before restriction was recorded get the column; their rows read NULL.
  const columns = db.query("PRAGMA table_info(responses)").all() as { name: string }[]
  if (!columns.some((c) => c.name === "restricted")) db.run("ALTER TABLE responses ADD COLUMN restricted INTEGER")
  db.run("CREATE INDEX IF NOT EXISTS responses_created ON responses (created_at)")
  return {
    put: db.prepare("INSERT OR REPLACE INTO responses (id, created_at, input, response, restricted) VALUES (?, ?, ?, ?, ?)"),
    get: db.prepare("SELECT input, response, restricted FROM responses WHERE id = ? AND created_at > ?"),
    remove: db.prepare("DELETE FROM responses WHERE id = ? AND created_at > ?"),
    expire: db.prepare("DELETE FROM responses WHERE created_at <= ?"),
    count: db.prepare("SELECT COUNT(*) AS n FROM responses"),
    trim: db.prepare("DELETE FROM responses WHERE id IN (SELECT id FROM responses ORDER BY created_at ASC, rowid ASC LIMIT ?)"),
  }
}

/** Kept responses, in the state file (created with the first one kept). */
export function openResponseStore(file: StateFile, limits: () => ResponseLimits, now: () => number = Date.now) {
  /** Rows in the table, known once it was counted: trimming needs no count per write. */
  let rows: number | undefined
  const ready = preparedOnce(prepare)
  /** The statements, if anything was ever kept; a file that cannot be read is said, not taken for empty. */
  const existing = () => {
    try {
      const db = file.existing()
      return db ? ready(db) : undefined
    } catch (err) {
      throw new NexusError({ kind: "unavailable", message: `kept responses cannot be read: the state file ${file.path} is unusable (${(err as Error).message})`, code: "state_unavailable" })
    }
  }

  return {
    /** Whether responses are kept at all (`max_stored = 0` keeps none). */
    enabled: () => limits().maxStored > 0,

    put(id: string, stored: StoredResponse): void {
      const { maxStored, maxAgeMs } = limits()
      if (maxStored <= 0) return
      const st = ready(file.open())
      const at = now()
      const expired = st.expire.run(at - maxAgeMs).changes
      rows = (rows ?? (st.count.get() as { n: number }).n) - expired
      rows += st.put.run(id, at, JSON.stringify(stored.input), JSON.stringify(stored.response), stored.restricted === undefined ? null : stored.restricted ? 1 : 0).changes
      if (rows > maxStored) rows -= st.trim.run(rows - maxStored).changes
    },

    get(id: string): StoredResponse | undefined {
      const row = existing()?.get.get(id, now() - limits().maxAgeMs) as { input: string; response: string; restricted: number | null } | null | undefined
      if (!row) return undefined
      const kept: StoredResponse = { input: JSON.parse(row.input) as Obj[], response: JSON.parse(row.response) as Obj }
      if (row.restricted !== null) kept.restricted = row.restricted === 1
      return kept
    },

    /** Forget one; false when it was not kept (or had expired). */
    delete(id: string): boolean {
      const st = existing()
      if (!st) return false
      const gone = st.remove.run(id, now() - limits().maxAgeMs).changes > 0
      if (gone && rows !== undefined) rows--
      return gone
    },
  }
}
