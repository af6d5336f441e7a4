/**
 * A real `redis-server` on a free port in a temporary directory, nothing saved to disk,
 * stopped after the test. `redisBinary` is undefined where it is not installed (tests
 * that need it skip).
 */
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "../../emulators/ports.ts"
import { eventually } from "./wait.ts"

export const redisBinary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => existsSync(p))

export interface TestRedis {
  url: string
  port: number
  stop(): Promise<void>
  /** Start again on the same port (after `stop`), with what it held when stopped. */
  start(): Promise<void>
  /** One command, with Bun's client. */
  send(cmd: string, args: string[]): Promise<unknown>
}

/** `password`: the server requires it (`--requirepass`); `url` then does not hold it. */
export async function startRedis(opts: { password?: string } = {}): Promise<TestRedis> {
  if (!redisBinary) throw new Error("redis-server is not installed")
  const dir = mkdtempSync(join(tmpdir(), "nexus-redis-"))
  const port = freePort()
  const url = `redis://127.0.0.1:${port}/0`
  const clientUrl = opts.password ? `redis://:${opts.password}@127.0.0.1:${port}/0` : url
  let proc: ReturnType<typeof Bun.spawn> | undefined
  let client = new Bun.RedisClient(clientUrl, { enableOfflineQueue: false })
  const up = async () => {
    try {
      if (!client.connected) {
        client.close()
        client = new Bun.RedisClient(clientUrl, { enableOfflineQueue: false })
        await client.connect()
      }
      return (await client.send("PING", [])) === "PONG"
    } catch {
      return false
    }
  }
  const start = async () => {
    proc = Bun.spawn([redisBinary, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...(opts.password ? ["--requirepass", opts.password] : [])], { stdout: "ignore", stderr: "ignore" })
    await eventually(up, 10_000, `redis-server on port ${port}`)
  }
  /** Like a restart of the service: its data is dumped, and loaded again by `start`. */
  const stop = async () => {
    if (!proc) return
    const p = proc
    proc = undefined
    await client.send("SHUTDOWN", ["SAVE"]).catch(() => {})
    client.close()
    await p.exited
  }
  await start()
  return {
    url,
    port,
    start,
    stop,
    send: async (cmd, args) => {
      await eventually(up, 10_000)
      return client.send(cmd, args)
    },
  }
}
