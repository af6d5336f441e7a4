/**
 * Backends added at run time, and the drained flags, on the shared state server: one
 * hash and one set mirrored in memory, each change published so every instance applies
 * it at once, and a new instance starts with them all.
 * @module
 */
import type { Logger } from "../../core/logger.ts"
import type { BackendChange, Store, StoredBackend } from "../store.ts"
import { PREFIX, type StateConnection } from "./connection.ts"

const BACKENDS = `${PREFIX}backends`
const DRAINED = `${PREFIX}drained`
const CHANNEL = "backends"
const RETRY_MS = 1000
const RESYNC_TICKS = 10

export function createRedisBackendStore(conn: StateConnection, log: Logger): Store & { ready(): Promise<void> } {
  const saved = new Map<string, StoredBackend>()
  const drained = new Set<string>()
  const listeners: ((change: BackendChange) => void)[] = []

  const tell = (change: BackendChange) => {
    for (const l of listeners) l(change)
  }

  function apply(change: BackendChange): void {
    if (change.type === "saved") saved.set(change.backend.id, change.backend)
    else if (change.type === "deleted") saved.delete(change.id)
    else if (change.type === "drained") drained.add(change.id)
    else drained.delete(change.id)
    tell(change)
  }

  /** Changes made here the server has not taken yet, in order: sent before anything is read back. */
  const queue: { commands: [string, string[]][]; change: BackendChange }[] = []
  let sending: Promise<void> | undefined

  async function drainQueue(): Promise<void> {
    try {
      while (queue.length > 0 && conn.isUp()) {
        const { commands, change } = queue[0]!
        for (const [cmd, args] of commands) await conn.send(cmd, args)
        await conn.send("PUBLISH", [PREFIX + CHANNEL, JSON.stringify(change)])
        queue.shift()
      }
    } catch (err) {
      log.error(`cannot share a backend change with the other instances yet (${conn.url}): ${(err as Error).message}; it is kept and sent when the server answers`)
    }
  }

  /** One drain at a time; callers meanwhile wait for it. */
  function sendQueued(): Promise<void> {
    sending ??= drainQueue().finally(() => (sending = undefined))
    return sending
  }

  /** Write, then tell the others; while the server is down the change acts here and waits. */
  function send(commands: [string, string[]][], change: BackendChange): void {
    queue.push({ commands, change })
    if (!conn.isUp()) log.warn(`a backend change acts on this instance only until the shared state ${conn.url} returns`)
    void sendQueued()
  }

  async function load(): Promise<void> {
    const [all, ids] = (await Promise.all([conn.send("HGETALL", [BACKENDS]), conn.send("SMEMBERS", [DRAINED])])) as [Record<string, string> | null, string[] | null]
    saved.clear()
    for (const json of Object.values(all ?? {})) {
      const b = JSON.parse(json) as StoredBackend
      saved.set(b.id, b)
    }
    drained.clear()
    for (const id of ids ?? []) drained.add(id)
  }

  conn.subscribe(CHANNEL, (message) => {
    try {
      apply(JSON.parse(message) as BackendChange)
    } catch (err) {
      log.warn(`ignored a backend message that is not one: ${(err as Error).message}`)
    }
  })
  /** Messages missed while away: the hash and the set say where things stand now. */
  function resync(): void {
    const before = { saved: new Set(saved.keys()), drained: new Set(drained) }
    void sendQueued()
      .then(() => (queue.length > 0 ? Promise.reject(new Error("changes not sent yet")) : load()))
      .then(() => {
        for (const b of saved.values()) if (!before.saved.has(b.id)) tell({ type: "saved", backend: b })
        for (const id of before.saved) if (!saved.has(id)) tell({ type: "deleted", id })
        for (const id of drained) if (!before.drained.has(id)) tell({ type: "drained", id })
        for (const id of before.drained) if (!drained.has(id)) tell({ type: "undrained", id })
      })
      .catch(() => {})
  }
  conn.onChange((up) => up && resync())
  conn.onResync(resync)

  let ticks = 0
  const retry = setInterval(() => {
    if (!conn.isUp()) return
    if (++ticks % RESYNC_TICKS === 0) resync()
    else if (queue.length > 0) void sendQueued()
  }, RETRY_MS)
  retry.unref()

  return {
    path: conn.url,
    ready: load,
    saveBackend(b) {
      saved.set(b.id, b)
      send([["HSET", [BACKENDS, b.id, JSON.stringify(b)]]], { type: "saved", backend: b })
    },
    deleteBackend(id) {
      saved.delete(id)
      send([["HDEL", [BACKENDS, id]], ["SREM", [DRAINED, id]]], { type: "deleted", id })
    },
    backends: () => [...saved.values()],
    setDrained(id, on) {
      if (on) drained.add(id)
      else drained.delete(id)
      send([[on ? "SADD" : "SREM", [DRAINED, id]]], { type: on ? "drained" : "undrained", id })
    },
    drained: () => [...drained],
    watch(listener) {
      listeners.push(listener)
    },
    close() {
      clearInterval(retry)
    },
  }
}
