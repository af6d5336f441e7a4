/**
 * `GET /v1/events`: the gateway's one internal event stream (registry changes and
 * finished requests) as Server-Sent Events, for the dashboard and for scripts.
 *
 * Events: `request` (a RequestRecord), `backend` (a backend's state after any change),
 * `models` (a backend whose model list changed), `backend_removed` (`{id}`), `load` (a
 * model finished loading: `{backend, model, reason, seconds, at}`).
 * All subscribers share one hub (event-hub.ts): the buses are followed only while someone
 * listens, each event is serialized once, and a subscriber that stops reading is dropped
 * once it is `MAX_BACKLOG_BYTES` behind. At most `server.max_event_subscribers` at once.
 * @module
 */
import { eventStreamHeaders } from "../core/frames.ts"
import { Hono } from "hono"
import { NexusError } from "../core/errors.ts"
import { Counter, Gauge } from "../observability/prom.ts"
import type { AppDeps, Env } from "./deps.ts"
import { backendState, loadState, type StateDeps } from "./dashboard-state.ts"
import { createEventHub } from "./event-hub.ts"
import { requireViewer, type ViewerDeps } from "./viewer.ts"

/** Events gather this long before going out; slot and probe changes, which come in bursts
 * (two per request), are sent once per backend per batch. */
const FLUSH_MS = 100
/** Up to 400 subscribers get a batch every FLUSH_MS; more get them less often. */
const FANOUT_PER_SECOND = 4000
/** A comment now and then keeps proxies and idle timers from closing a quiet stream. */
const HEARTBEAT_MS = 15_000
/** A client this many bytes behind is not reading: drop it rather than buffer for it. */
const MAX_BACKLOG_BYTES = 256 * 1024
/** A dropped client that still does not read is disconnected after this long. */
const DROPPED_GRACE_SECONDS = 5

const GREETING = new TextEncoder().encode(": connected\nretry: 1000\n\n")

export function eventRoutes(deps: StateDeps & ViewerDeps & Pick<AppDeps, "idleTimeout" | "metrics" | "noIdleTimeout" | "requests">) {
  const app = new Hono<Env>()
  /** Backends whose slot or probe changed since the last batch. */
  const pending = new Set<string>()
  const hub = createEventHub({
    flushMs: FLUSH_MS,
    fanoutPerSecond: FANOUT_PER_SECOND,
    maxBacklogBytes: MAX_BACKLOG_BYTES,
    beforeFlush() {
      for (const id of pending) {
        const b = deps.registry.get(id)
        if (b) hub.publish("backend", backendState(deps, b))
      }
      pending.clear()
    },
    activate() {
      const offRegistry = deps.registry.on((e) => {
        switch (e.type) {
          case "backend_removed":
            pending.delete(e.backend.id)
            return hub.publish("backend_removed", { id: e.backend.id })
          case "models_changed":
            return hub.publish("models", backendState(deps, e.backend))
          case "load_changed":
          case "probed":
            pending.add(e.backend.id)
            return hub.flushSoon()
          default:
            return hub.publish("backend", backendState(deps, e.backend))
        }
      })
      const offRequests = deps.requests.on((r) => hub.publish("request", r))
      const offLoads = deps.fleet.onLoad((l) => hub.publish("load", loadState(l)))
      const heartbeat = setInterval(() => hub.comment("ping"), HEARTBEAT_MS)
      return () => {
        offRegistry()
        offRequests()
        offLoads()
        clearInterval(heartbeat)
        pending.clear()
      }
    },
  })

  new Gauge({
    name: "nexus_event_subscribers",
    help: "Clients connected to /v1/events.",
    registers: [deps.metrics.registry],
    collect() {
      this.set(hub.size())
    },
  })
  const dropped = new Counter({
    name: "nexus_event_subscribers_dropped_total",
    help: "Clients of /v1/events dropped for falling too far behind.",
    registers: [deps.metrics.registry],
  })

  app.get("/v1/events", (c) => {
    requireViewer(deps, c)
    const max = deps.config().server.max_event_subscribers
    if (hub.size() >= max) {
      throw new NexusError({
        kind: "unavailable",
        code: "too_many_event_subscribers",
        message: `${max} event subscribers are connected already, the most server.max_event_subscribers allows; close one or raise the limit.`,
        retryAfterSeconds: 5,
      })
    }
    const req = c.req.raw
    deps.noIdleTimeout(req)
    const body = hub.subscribe({
      greeting: GREETING,
      signal: req.signal,
      onDrop: () => {
        dropped.inc()
        deps.idleTimeout(req, DROPPED_GRACE_SECONDS)
      },
    })
    return new Response(body, {
      headers: { ...eventStreamHeaders(), "x-request-id": c.get("scope").requestId },
    })
  })

  return app
}
