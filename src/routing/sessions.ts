/**
 * Where each conversation was served last, so its next turn can go back to the backend
 * whose prompt cache (llama.cpp slots, vLLM/SGLang prefix caching, Ollama's loaded
 * context) already holds the long shared prefix. Bounded (least recently used goes
 * first) and forgetful (idle sessions expire). Pure: the clock is injected.
 * @module
 */

export interface SessionTableOptions {
  maxEntries: number
  idleMs: number
  now?: () => number
}

export interface SessionTable {
  /** The backend id the session was last served by, if it is still remembered. */
  get(key: string): string | undefined
  /** Remember (or move) the session's home. */
  set(key: string, backendId: string): void
  /** Forget every session homed on a backend (it was removed). */
  forgetBackend(backendId: string): void
  readonly size: number
}

interface Entry {
  backend: string
  /** When it was last used, on the table's clock. */
  at: number
  /** Use order: higher is more recent. */
  seq: number
}

/**
 * A table several instances share: homes found here are told to the others, homes they
 * found are written here (lookups never leave the process). A home is told when it is
 * new or moved, and again once half the idle time has passed, so that the others do not
 * forget a conversation that keeps coming here; not on every turn.
 */
export function sharedSessionTable(
  local: SessionTable,
  channel: { publish(key: string, backendId: string): void; subscribe(fn: (key: string, backendId: string) => void): void },
  opts: SessionTableOptions
): SessionTable {
  const now = opts.now ?? (() => performance.now())
  const told = new Map<string, { backend: string; at: number }>()
  channel.subscribe((key, backendId) => {
    local.set(key, backendId)
    told.set(key, { backend: backendId, at: now() })
  })
  return {
    get: (key) => local.get(key),
    set(key, backendId) {
      local.set(key, backendId)
      const t = now()
      const last = told.get(key)
      if (last && last.backend === backendId && t - last.at < opts.idleMs / 2) return
      // Bounded like the table: forgetting only means telling once more.
      if (!last && told.size >= opts.maxEntries) told.clear()
      told.set(key, { backend: backendId, at: t })
      channel.publish(key, backendId)
    },
    forgetBackend: (backendId) => local.forgetBackend(backendId),
    get size() {
      return local.size
    },
  }
}

export function createSessionTable(opts: SessionTableOptions): SessionTable {
  const now = opts.now ?? (() => performance.now())
  // Entries are updated in place, never deleted and re-inserted on use: a long-lived Map
  // that keys keep leaving and rejoining makes the garbage collector keep every entry
  // that passed through it (see egress/transport/slots.ts). Idle and surplus entries
  // leave in sweeps instead.
  const entries = new Map<string, Entry>()
  let seq = 0
  let sweptAt = now()

  function sweep(t: number) {
    sweptAt = t
    for (const [k, e] of entries) if (t - e.at >= opts.idleMs) entries.delete(k)
    if (entries.size <= opts.maxEntries) return
    // Least recently used first; a sixteenth of the bound more, so a full table is not
    // sorted again on every new session.
    const surplus = entries.size - opts.maxEntries + Math.floor(opts.maxEntries / 16)
    const oldest = [...entries].sort((a, b) => a[1].seq - b[1].seq).slice(0, surplus)
    for (const [k] of oldest) entries.delete(k)
  }

  return {
    get(key) {
      const e = entries.get(key)
      if (!e) return undefined
      const t = now()
      if (t - e.at >= opts.idleMs) {
        entries.delete(key)
        return undefined
      }
      e.at = t
      e.seq = ++seq
      return e.backend
    },
    set(key, backendId) {
      const t = now()
      const e = entries.get(key)
      if (e) {
        e.backend = backendId
        e.at = t
        e.seq = ++seq
      } else entries.set(key, { backend: backendId, at: t, seq: ++seq })
      if (entries.size > opts.maxEntries || t - sweptAt >= opts.idleMs) sweep(t)
    },
    forgetBackend(backendId) {
      for (const [k, e] of entries) if (e.backend === backendId) entries.delete(k)
    },
    get size() {
      return entries.size
    },
  }
}
