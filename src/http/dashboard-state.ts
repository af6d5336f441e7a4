/**
 * The dashboard's view of the gateway: backends with everything an operator asks about
 * (how found, health and last error, load, averages, breaker, zone, tier, models), and
 * the snapshot the page starts from.
 * @module
 */
import type { Backend } from "../core/backend.ts"
import type { BackendState, LoadState, Snapshot } from "../dashboard/types.ts"
import type { RecentLoad } from "../fleet/fleet.ts"
import { VERSION } from "../version.ts"
import { lifecycleKind } from "./admin.ts"
import type { AppDeps } from "./deps.ts"

const round = (n: number | undefined) => (n === undefined ? null : Math.round(n * 10) / 10)

/** What the dashboard's state is made of. */
export type StateDeps = Pick<AppDeps, "breakers" | "config" | "history" | "registry" | "stats" | "fleet">

export function backendState(deps: StateDeps, b: Backend): BackendState {
  const alwaysLoaded = lifecycleKind(b) === "always_loaded"
  const { fleet } = deps
  return {
    id: b.id,
    name: b.name,
    type: b.type,
    url: b.url,
    source: b.source,
    status: b.status,
    lastError: b.lastError ?? null,
    lastCheck: b.lastCheck ?? null,
    zone: b.zone,
    tier: b.tier,
    priority: b.priority,
    inFlight: b.stats.inFlight,
    maxConcurrent: b.maxConcurrent ?? null,
    requests: b.stats.requests,
    errors: b.stats.errors,
    errorRate: Math.round(b.stats.errorRate * 1000) / 1000,
    latencyMs: round(deps.history.latencyOf(b.name)),
    ttftMs: round(b.stats.ttftEwmaMs),
    probeMs: round(b.stats.probeLatencyMs),
    breaker: deps.breakers.state(b.id),
    withdrawn: b.withdrawn === true,
    alwaysLoaded,
    memoryBytes: b.memoryBytes ?? null,
    models: [...b.models.values()].map((m) => ({
      id: m.id,
      contextLength: m.contextLength ?? null,
      vision: m.capabilities.vision ?? null,
      tools: m.capabilities.tools ?? null,
      json: m.capabilities.json_mode ?? null,
      embeddings: m.capabilities.embeddings ?? null,
      loaded: m.loaded ?? null,
      sizeBytes: m.sizeBytes ?? null,
      expiresAt: m.expiresAt ?? null,
      // Residency facts only where residency changes: always-loaded boxes skip the lookups.
      pinned: !alwaysLoaded && m.loaded === true && fleet.isPinned(m.id, b.name),
      inFlight: alwaysLoaded ? 0 : fleet.inFlight(b.id, m.id),
      loadMs: alwaysLoaded ? null : round(fleet.loadMs(b.id, m.id)),
    })),
  }
}

/** A load as the dashboard, `/v1/events` and `GET /v1/fleet` show it: seconds to a tenth. */
export function loadState(l: RecentLoad): LoadState {
  return { backend: l.backend, model: l.model, reason: l.reason, seconds: Math.round(l.ms / 100) / 10, at: l.at }
}

export function snapshot(deps: StateDeps): Snapshot {
  return {
    version: VERSION,
    uptimeSeconds: Math.floor((Date.now() - deps.stats.startedAt) / 1000),
    admin: Boolean(deps.config().server.admin_token),
    backends: deps.registry.list().map((b) => backendState(deps, b)),
    requests: [...deps.history.recent()],
    series: deps.history.series(),
    bucketMs: deps.history.bucketMs,
    loads: deps.fleet.recentLoads().map(loadState),
  }
}
