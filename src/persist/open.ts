/**
 * Opening the store at start: without one, Nexus still serves, it only forgets.
 * @module
 */
import type { Logger } from "../core/logger.ts"
import { dataDir, openStore, type Store } from "./store.ts"

export function openStoreOrWarn(configured: string | undefined, env: Record<string, string | undefined>, log: Logger): Store | undefined {
  const dir = dataDir(configured, env)
  try {
    return openStore(dir)
  } catch (err) {
    log.warn(`runtime-added backends will not survive a restart: cannot open ${dir}: ${(err as Error).message}`)
    return undefined
  }
}
