/**
 * The sticky-session table shared by several instances: each home a conversation gets
 * is published, and every instance writes it into its own table, so the next turn goes
 * back to the same backend whichever instance receives it. Lookups stay in memory.
 * @module
 */
import type { SessionChannel } from "../backing.ts"
import { PREFIX, type StateConnection } from "./connection.ts"

const CHANNEL = "sessions"

export function redisSessions(conn: StateConnection): SessionChannel {
  /** Our own messages come back: told apart by this instance's id. */
  const self = crypto.randomUUID().slice(0, 8)
  return {
    publish(key, backendId) {
      if (!conn.isUp()) return
      conn.send("PUBLISH", [PREFIX + CHANNEL, `${self}\n${backendId}\n${key}`]).catch(() => {})
    },
    subscribe(fn) {
      conn.subscribe(CHANNEL, (message) => {
        const a = message.indexOf("\n")
        const b = message.indexOf("\n", a + 1)
        if (a < 0 || b < 0 || message.slice(0, a) === self) return
        fn(message.slice(b + 1), message.slice(a + 1, b))
      })
    },
  }
}
