/**
 * The connection to the shared state server (Redis or Valkey), with Bun's own client.
 * Commands fail at once while it is down (no offline queue: callers keep what they
 * could not send and send it again); the client reconnects by itself, and everyone who
 * keeps a local copy hears of each change of `up` to reconcile. A second connection
 * carries pub/sub, which Redis keeps apart from commands.
 * @module
 */
import { RedisClient } from "bun"
import type { Logger } from "../../core/logger.ts"
import type { StateConfig } from "../../config/types.ts"

export type StateConnection = Awaited<ReturnType<typeof connectState>>

/** Every key and channel Nexus writes starts with this, so one server may hold other data. */
export const PREFIX = "nexus:"

/** A month's spend hash outlives its month long enough for a report of the last one. */
export const MONTH_TTL_SECONDS = 100 * 24 * 3600

const OPTIONS = { enableOfflineQueue: false, autoReconnect: true, maxRetries: 0xffffffff, connectionTimeout: 2000 }

/** The URL with any password in it hidden, for logs and errors. */
function redactedUrl(url: string): string {
  const u = new URL(url)
  if (u.password) u.password = "***"
  return u.toString()
}

function clientUrl(cfg: StateConfig & { url: string }, env: Record<string, string | undefined>): string {
  if (!cfg.password_env) return cfg.url
  const password = env[cfg.password_env]
  if (password === undefined) throw new Error(`[state] password_env names ${cfg.password_env}, which is not set in the environment`)
  const u = new URL(cfg.url)
  u.password = password
  return u.toString()
}

/**
 * Connect (waiting at most the connection timeout): a server that cannot be reached at
 * start does not stop Nexus, it starts with `up` false and connects when it can.
 */
export async function connectState(cfg: StateConfig & { url: string }, env: Record<string, string | undefined>, log: Logger) {
  const url = clientUrl(cfg, env)
  const shown = redactedUrl(cfg.url)
  const commands = new RedisClient(url, OPTIONS)
  const pubsub = new RedisClient(url, OPTIONS)
  const listeners = new Set<(up: boolean) => void>()
  const channels = new Map<string, (message: string) => void>()
  let up = false
  let lastError: string | undefined
  let closed = false

  const setUp = (next: boolean, why?: string) => {
    if (next === up) return
    up = next
    if (next) log.info(`shared state ${shown} is reachable again; reconciling`)
    else log.error(`shared state ${shown} is unreachable (${why ?? "connection closed"}); ${cfg.on_unavailable === "closed" ? "API keys and cloud backends are refused until it returns ([state] on_unavailable = \"closed\")" : "serving from what this instance last knew; spend is kept and sent when it returns"}`)
    for (const l of listeners) l(next)
  }
  commands.onconnect = () => setUp(true)
  commands.onclose = (err) => {
    lastError = err?.message
    if (!closed) setUp(false, lastError)
  }
  const resyncs = new Set<() => void>()
  pubsub.onconnect = () => {
    // A reconnected subscriber has lost its subscriptions, and missed what was said meanwhile.
    void Promise.all([...channels].map(([channel, fn]) => pubsub.subscribe(channel, fn).catch(() => {}))).then(() => {
      for (const r of resyncs) r()
    })
  }
  // The client retries on its own until the server answers: its first connect waits that long.
  const within = (p: Promise<void>) => Promise.race([p.then(() => true), Bun.sleep(OPTIONS.connectionTimeout).then(() => false)]).catch((err: Error) => ((lastError = err.message), false))
  const [connected] = await Promise.all([within(commands.connect()), within(pubsub.connect())])
  if (connected) setUp(true)
  else log.error(`shared state ${shown} cannot be reached at start (${lastError ?? "no answer"}); retrying in the background`)

  return {
    url: shown,
    onUnavailable: cfg.on_unavailable,
    isUp: () => up,
    lastError: () => lastError,
    /** One command; rejects at once while the server is down. */
    send(command: string, args: string[]): Promise<unknown> {
      return commands.send(command, args).catch((err: Error) => {
        if (!commands.connected) setUp(false, err.message)
        throw err
      })
    },
    /** Hear of every change of reachability. */
    onChange(listener: (up: boolean) => void): void {
      listeners.add(listener)
    },
    /** Hear when messages may have been missed (the subscriber reconnected): read the state again. */
    onResync(fn: () => void): void {
      resyncs.add(fn)
    },
    subscribe(channel: string, fn: (message: string) => void): void {
      channels.set(PREFIX + channel, fn)
      if (pubsub.connected) pubsub.subscribe(PREFIX + channel, fn).catch(() => {})
    },
    close(): void {
      closed = true
      commands.close()
      pubsub.close()
    },
  }
}
