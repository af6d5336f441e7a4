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

export function createSessionTable(opts: SessionTableOptions): SessionTable {
  const now = opts.now ?? (() => performance.now())
  // A Map iterates in insertion order: re-inserting on use keeps the oldest first.
  const entries = new Map<string, { backend: string; at: number }>()

  function expire(t: number) {
    for (const [k, e] of entries) {
      if (t - e.at < opts.idleMs) break
      entries.delete(k)
    }
  }

  return {
    get(key) {
      const t = now()
      expire(t)
      const e = entries.get(key)
      if (!e) return undefined
      entries.delete(key)
      entries.set(key, { backend: e.backend, at: t })
      return e.backend
    },
    set(key, backendId) {
      const t = now()
      entries.delete(key)
      entries.set(key, { backend: backendId, at: t })
      expire(t)
      while (entries.size > opts.maxEntries) entries.delete(entries.keys().next().value!)
    },
    forgetBackend(backendId) {
      for (const [k, e] of entries) if (e.backend === backendId) entries.delete(k)
    },
    get size() {
      return entries.size
    },
  }
}
