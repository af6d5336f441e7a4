/**
 * The state file (`nexus.sqlite` in the data directory), opened on first use. A Nexus
 * that has stored nothing (no runtime backend, no cloud spend, no API key, no kept response,
 * no demand learned) never loads SQLite, which takes resident memory a small box can use
 * better, and leaves no file behind. Every store here shares the one connection.
 * @module
 */
import { Database } from "bun:sqlite"
import { existsSync, mkdirSync } from "node:fs"
import { dirname, join } from "node:path"

export interface StateFile {
  /** Where it is, or ":memory:". */
  readonly path: string
  /** The database, created (with its directory) if it does not exist yet. */
  open(): Database
  /** The database if it is open or its file exists; undefined means nothing was stored. */
  existing(): Database | undefined
  close(): void
}

/** The state file in `dir`, or a database in memory when `dir` is undefined (tests). */
export function stateFile(dir: string | undefined): StateFile {
  const path = dir ? join(dir, "nexus.sqlite") : ":memory:"
  let db: Database | undefined
  let closed = false

  function open(): Database {
    if (db) return db
    if (closed) throw new Error(`${path} is closed`)
    if (dir) mkdirSync(dirname(path), { recursive: true })
    const opened = new Database(path, { create: true })
    try {
      opened.run("PRAGMA journal_mode = WAL")
      opened.run("PRAGMA busy_timeout = 2000")
    } catch (err) {
      // Not a database (or not one we can use): the next use opens it again, so a file
      // repaired or replaced meanwhile is found.
      opened.close()
      throw err
    }
    db = opened
    return db
  }

  return {
    path,
    open,
    existing: () => (db || (dir && !closed && existsSync(path)) ? open() : undefined),
    close() {
      closed = true
      db?.close()
      db = undefined
    },
  }
}

/**
 * `prepare` run on the first database it is given and kept: the file keeps its
 * connection once open. A `prepare` that throws is tried again on the next use.
 */
export function preparedOnce<T>(prepare: (db: Database) => T): (db: Database) => T {
  let statements: T | undefined
  return (db) => (statements ??= prepare(db))
}
