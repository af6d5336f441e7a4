/**
 * The fleet in the admin API: what is loaded where (`GET /v1/fleet`), what auto would do
 * next (`GET /v1/fleet/plan`), and load, unload,
 * pin and unpin a model (`POST /v1/models/{id}/load|unload|pin|unpin`, body
 * `{"backend"?, "keep_alive"?}`). Reads follow the dashboard's views (viewer.ts); changes
 * need the admin token (or a loopback client), like every state change.
 * @module
 */
import { Hono, type Context } from "hono"
import type { Backend } from "../core/backend.ts"
import { NexusError } from "../core/errors.ts"
import { KEEP_ALIVE_EXPECTED, keepAliveMs } from "../fleet/duration.ts"
import type { Fleet } from "../fleet/fleet.ts"
import { lifecycleKind, requireAdmin, type AdminGateDeps } from "./admin.ts"
import { parseJsonObject, readBodyText } from "./body.ts"
import { requireJsonBody } from "./browser-guard.ts"
import { loadState } from "./dashboard-state.ts"
import type { AppDeps, Env } from "./deps.ts"
import { requireViewer } from "./viewer.ts"

const FIELDS = ["backend", "keep_alive"] as const

const invalid = (param: string, message: string) => new NexusError({ kind: "invalid_request", message, param, code: "invalid_request" })

interface FleetBody {
  backend?: string
  keepAliveMs?: number
}

async function readFleetBody(deps: AdminGateDeps, c: Context<Env>, allowed: readonly string[]): Promise<FleetBody> {
  requireAdmin(deps, c)
  requireJsonBody(c.req.raw)
  const body = parseJsonObject(await readBodyText(c.req.raw, 16 * 1024, deps.config().server.request_timeout_seconds * 1000))
  for (const k of Object.keys(body)) if (!allowed.includes(k)) throw invalid(k, `unknown field \`${k}\`; valid fields: ${allowed.join(", ")}`)
  const out: FleetBody = {}
  if (body.backend !== undefined) {
    if (typeof body.backend !== "string" || !body.backend.trim()) throw invalid("backend", "backend: expected a backend name")
    out.backend = body.backend.trim()
  }
  if (body.keep_alive !== undefined) {
    const ms = keepAliveMs(body.keep_alive)
    if (ms === undefined) throw invalid("keep_alive", `keep_alive: ${KEEP_ALIVE_EXPECTED}`)
    out.keepAliveMs = ms
  }
  return out
}

/** One backend's residency, as `GET /v1/fleet` and `nexus fleet` show it. */
function fleetView(b: Backend, fleet: Fleet) {
  const loaded = [...b.models.values()].filter((m) => m.loaded === true)
  const lifecycle = lifecycleKind(b)
  return {
    backend: b.name,
    type: b.type,
    lifecycle,
    memory_bytes: b.memoryBytes ?? null,
    /** What the loaded models take, as far as their sizes are known. */
    used_bytes: loaded.reduce((sum, m) => sum + (m.sizeBytes ?? 0), 0),
    /** The models of a server without a load/unload API: always loaded. */
    always_loaded: lifecycle === "always_loaded" ? [...b.models.keys()] : [],
    loaded: loaded.map((m) => ({
      model: m.id,
      size_bytes: m.sizeBytes ?? null,
      vram_bytes: m.vramBytes ?? null,
      expires_at: m.expiresAt ? new Date(m.expiresAt).toISOString() : null,
      in_flight: fleet.inFlight(b.id, m.id),
      pinned: fleet.isPinned(m.id, b.name),
    })),
    load_ms: Object.fromEntries([...b.models.keys()].flatMap((id) => {
      const ms = fleet.loadMs(b.id, id)
      return ms === undefined ? [] : [[id, Math.round(ms)]]
    })),
  }
}

/** The body of `GET /v1/fleet`. */
export function fleetState(deps: Pick<AppDeps, "registry" | "fleet" | "queue">) {
  return {
    backends: deps.registry.list().map((b) => fleetView(b, deps.fleet)),
    /** Requests waiting in Nexus's queue, by the model they wait for (every box serving it is full). */
    waiting: Object.fromEntries(deps.queue.waiting()) as Record<string, number>,
    /** Loads under way that requests follow, by model: the backend each loads on. */
    loading: Object.fromEntries([...deps.fleet.loadingNow()].map(([model, id]) => [model, deps.registry.get(id)?.name ?? id])) as Record<string, string>,
    pins: deps.fleet.pins(),
    requests: { warm: deps.fleet.counts.warm, cold: deps.fleet.counts.cold },
    recent_loads: deps.fleet.recentLoads().map((l) => ({ ...loadState(l), at: new Date(l.at).toISOString() })),
  }
}

export type FleetState = ReturnType<typeof fleetState>

export function fleetRoutes(deps: AdminGateDeps & Pick<AppDeps, "fleet" | "fleetControl" | "fleetAuto" | "queue" | "registry">) {
  const app = new Hono<Env>()
  const control = deps.fleetControl

  app.get("/v1/fleet", (c) => {
    requireViewer(deps, c)
    return c.json(fleetState(deps))
  })

  // What auto would load, unload or keep next and why; said whether auto is on or not.
  app.get("/v1/fleet/plan", (c) => {
    requireViewer(deps, c)
    const { enabled, auto } = deps.config().fleet
    return c.json({ enabled, auto, actions: deps.fleetAuto.plan() })
  })

  app.post("/v1/models/:id{.+}/load", async (c) => {
    const body = await readFleetBody(deps, c, FIELDS)
    return c.json(await control.load(c.req.param("id"), { backend: body.backend, keepAliveMs: body.keepAliveMs }))
  })
  app.post("/v1/models/:id{.+}/unload", async (c) => {
    const body = await readFleetBody(deps, c, ["backend"])
    return c.json({ unloaded: await control.unload(c.req.param("id"), { backend: body.backend }) })
  })
  for (const action of ["pin", "unpin"] as const) {
    app.post(`/v1/models/:id{.+}/${action}`, async (c) => {
      const body = await readFleetBody(deps, c, ["backend"])
      if (!body.backend) throw invalid("backend", `backend: required, the backend to ${action} the model on`)
      const model = c.req.param("id")
      return c.json(action === "pin" ? await control.pin(model, body.backend) : control.unpin(model, body.backend))
    })
  }
  return app
}
