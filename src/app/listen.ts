/**
 * The HTTP server: Hono's app on `Bun.serve`, and a graceful stop that lets requests in
 * flight finish up to a grace period.
 * @module
 */
import type { Server } from "bun"
import type { Handler } from "../http/app.ts"
import { describeError } from "../http/error-answer.ts"
import type { Logger } from "../observability/log.ts"

export interface Listener {
  server: Server<undefined>
  port: number
  /** The URL a local client uses (a wildcard bind is reached on loopback). */
  url: string
  /**
   * Stop accepting, wait for requests in flight up to `graceMs`, then call `cutShort`
   * (open streams end themselves cleanly) and give them a moment before closing.
   */
  stop(graceMs: number, cutShort?: () => void): Promise<void>
}

export function listen(app: Handler, opts: { host: string; port: number; log: Logger }): Listener {
  const server = Bun.serve({
    hostname: opts.host,
    port: opts.port,
    // Proxied requests switch this off for themselves; it guards everything else.
    idleTimeout: 30,
    // Our own reader enforces server.max_body_bytes with an OpenAI-shaped 413.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    // Never Bun's development error page (source and paths to whoever asked). Bun's
    // default follows NODE_ENV, which neither the build nor `nexus serve` sets.
    development: false,
    fetch: (req) => app.fetch(req),
    // Hono answers every error itself; this only catches what escapes it. Requests Bun
    // cannot parse (431, bad framing, bare CR/LF) never get here: Bun answers those alone.
    error(err) {
      opts.log.error("unhandled server error (a bug in Nexus)", { error: describeError(err) })
      return Response.json(
        { error: { message: "Internal error in Nexus", type: "server_error", param: null, code: "internal_error" } },
        { status: 500 }
      )
    },
  })
  const port = server.port ?? opts.port
  const host = opts.host === "0.0.0.0" || opts.host === "::" ? "127.0.0.1" : opts.host
  return {
    server,
    port,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    async stop(graceMs, cutShort) {
      server.stop(false)
      await drained(server, graceMs)
      if (server.pendingRequests > 0 && cutShort) {
        cutShort()
        await drained(server, 1000)
      }
      await server.stop(true)
    },
  }
}

/** Wait until no request is pending, or `ms` passed. */
async function drained(server: Server<undefined>, ms: number): Promise<void> {
  const deadline = performance.now() + ms
  while (server.pendingRequests > 0 && performance.now() < deadline) await Bun.sleep(25)
}
