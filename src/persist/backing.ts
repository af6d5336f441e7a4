/**
 * Where the state lives: the embedded state file of one instance, or a server several
 * instances share. Services take what they keep from here, never choosing themselves.
 * @module
 */
import type { BucketStore, KeyStore } from "../core/api-key.ts"
import { sqliteKeyStore } from "./key-store.ts"
import { openLedger, type Ledger, type LedgerFault } from "./ledger.ts"
import type { StateFile } from "./state-file.ts"
import type { Store } from "./store.ts"

/** Where each instance tells the others which backend a conversation went to. */
export interface SessionChannel {
  publish(key: string, backendId: string): void
  subscribe(fn: (key: string, backendId: string) => void): void
}

export interface StateBacking {
  /** Where it is, for logs: a file path or the server's URL without its password. */
  where: string
  ledger(onFault: (fault: LedgerFault) => void): Ledger
  keys: KeyStore
  /** Rate-limit buckets several instances share; undefined: each instance keeps its own. */
  buckets?: BucketStore
  /** Runtime backends and drained flags several instances share; undefined: the state file's. */
  backends?: Store
  /** Sticky sessions several instances share; undefined: each keeps its own. */
  sessions?: SessionChannel
  /** Whether the shared server answers (always true for the embedded file). */
  isUp(): boolean
  /** Sends what is not sent yet, then lets go. */
  close(): void | Promise<void>
}

export function embeddedState(file: StateFile): StateBacking {
  return {
    where: file.path,
    ledger: (onFault) => openLedger(file, onFault),
    keys: sqliteKeyStore(file),
    isUp: () => true,
    // The file is closed by whoever opened it (it holds runtime backends as well).
    close() {},
  }
}
