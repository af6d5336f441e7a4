/**
 * The state file at start: without a usable data directory Nexus still serves, it only
 * forgets (runtime backends and spend are kept in memory), and says so once. A file that
 * is there but cannot be read stays the state file: the ledger reports it unreadable.
 * @module
 */
import { accessSync, constants, mkdirSync } from "node:fs"
import type { Logger } from "../core/logger.ts"
import { stateFile, type StateFile } from "./state-file.ts"
import { dataDir } from "./store.ts"

export function openStateOrWarn(configured: string | undefined, env: Record<string, string | undefined>, log: Logger): StateFile {
  const dir = dataDir(configured, env)
  try {
    mkdirSync(dir, { recursive: true })
    accessSync(dir, constants.W_OK)
  } catch (err) {
    log.warn(`runtime-added backends and month-to-date spend will not survive a restart: cannot open ${dir}: ${(err as Error).message}`)
    return stateFile(undefined)
  }
  const file = stateFile(dir)
  try {
    // A file that is there is opened now, so a broken one is found at start, not later.
    file.existing()
  } catch (err) {
    // Kept, not swapped for one in memory: a ledger that cannot be read is not "$0 spent".
    log.error(`cannot read the state file ${file.path}: ${(err as Error).message}`)
  }
  return file
}
