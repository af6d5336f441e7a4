/**
 * The shared state on Redis or Valkey: connected, and read once before the gateway
 * serves, so a new instance starts with the month's spend and every key.
 * @module
 */
import type { Logger } from "../../core/logger.ts"
import type { StateConfig } from "../../config/types.ts"
import type { StateBacking } from "../backing.ts"
import { createRedisBackendStore } from "./backends.ts"
import { redisBuckets } from "./buckets.ts"
import { connectState } from "./connection.ts"
import { createRedisKeyStore } from "./key-store.ts"
import { createRedisLedger } from "./ledger.ts"
import { redisSessions } from "./sessions.ts"

/** How long a graceful stop waits for the last costs to reach the server. */
const FLUSH_MS = 2000

export async function redisState(cfg: StateConfig & { url: string }, env: Record<string, string | undefined>, log: Logger): Promise<StateBacking> {
  const conn = await connectState(cfg, env, log)
  const ledger = createRedisLedger(conn)
  const keys = createRedisKeyStore(conn, log)
  const backends = createRedisBackendStore(conn, log)
  if (conn.isUp()) await Promise.all([ledger.ready(), keys.ready(), backends.ready()])
  return {
    where: conn.url,
    ledger(onFault) {
      ledger.onFault(onFault)
      return ledger
    },
    keys,
    buckets: redisBuckets(conn),
    backends,
    sessions: redisSessions(conn),
    isUp: conn.isUp,
    async close() {
      // What this instance counted goes out before it does (bounded: the server may be down).
      if (conn.isUp()) await Promise.race([Promise.all([ledger.flush(), keys.flush()]), Bun.sleep(FLUSH_MS)]).catch(() => {})
      ledger.close()
      keys.close()
      backends.close()
      conn.close()
    },
  }
}
