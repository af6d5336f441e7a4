/**
 * The state file at start: without a usable data directory Nexus still serves, it only
 * forgets (runtime backends and spend are kept in memory), and says so once.
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
    const file = stateFile(dir)
    // A file that is there is opened now, so a broken one is found at start, not later.
    file.existing()
    return file
  } catch (err) {
    log.warn(`runtime-added backends and month-to-date spend will not survive a restart: cannot open ${dir}: ${(err as Error).message}`)
    return stateFile(undefined)
  }
}
