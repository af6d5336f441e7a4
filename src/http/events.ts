/**
 * `GET /v1/events`: the gateway's one internal event stream (registry changes and
 * finished requests) as Server-Sent Events, for the dashboard and for scripts.
 *
 * Events: `request` (a RequestRecord), `backend` (a backend's state after any change),
 * `models` (a backend whose model list changed), `backend_removed` (`{id}`).
 * @module
 */
import { Hono } from "hono"
import type { AppDeps, Env } from "./deps.ts"
import { backendState } from "./dashboard-state.ts"

/** Slot and probe changes come in bursts (two per request): one message per backend per tick. */
const COALESCE_MS = 100
/** A comment now and then keeps proxies and idle timers from closing a quiet stream. */
const HEARTBEAT_MS = 15_000
/** A client this far behind is not reading: drop it rather than buffer for it forever. */
const MAX_BACKLOG = 1000

const encoder = new TextEncoder()

export function eventRoutes(deps: AppDeps) {
  const app = new Hono<Env>()

  app.get("/v1/events", (c) => {
    deps.noIdleTimeout(c.req.raw)
    let cleanup = () => {}
    const body = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          let closed = false
          const write = (text: string) => {
            if (closed) return
            if ((controller.desiredSize ?? 0) < -MAX_BACKLOG) return stop()
            try {
              controller.enqueue(encoder.encode(text))
            } catch {
              stop()
            }
          }
          const send = (type: string, data: unknown) => write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`)
          const pending = new Set<string>()
          let timer: ReturnType<typeof setTimeout> | undefined
          const flush = () => {
            timer = undefined
            for (const id of pending) {
              const b = deps.registry.get(id)
              if (b) send("backend", backendState(deps, b))
            }
            pending.clear()
          }
          const offRegistry = deps.registry.on((e) => {
            switch (e.type) {
              case "backend_removed":
                pending.delete(e.backend.id)
                return send("backend_removed", { id: e.backend.id })
              case "models_changed":
                return send("models", backendState(deps, e.backend))
              case "load_changed":
              case "probed":
                pending.add(e.backend.id)
                timer ??= setTimeout(flush, COALESCE_MS)
                return
              default:
                return send("backend", backendState(deps, e.backend))
            }
          })
          const offRequests = deps.requests.on((r) => send("request", r))
          const heartbeat = setInterval(() => write(": ping\n\n"), HEARTBEAT_MS)
          function stop() {
            if (closed) return
            closed = true
            offRegistry()
            offRequests()
            clearInterval(heartbeat)
            clearTimeout(timer)
            try {
              controller.close()
            } catch {
              // Already closed by the client.
            }
          }
          cleanup = stop
          c.req.raw.signal.addEventListener("abort", stop, { once: true })
          // Headers go out with the first chunk in Bun; send one at once.
          write(": connected\nretry: 1000\n\n")
        },
        cancel() {
          cleanup()
        },
      },
      { highWaterMark: 0 }
    )
    return new Response(body, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no", "x-request-id": c.get("scope").requestId },
    })
  })

  return app
}
