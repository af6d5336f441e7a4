/**
 * The dashboard's view of the gateway: backends with everything an operator asks about
 * (how found, health and last error, load, averages, breaker, zone, tier, models), and
 * the snapshot the page starts from.
 * @module
 */
import type { Backend } from "../core/backend.ts"
import type { BackendState, Snapshot } from "../dashboard/types.ts"
import { VERSION } from "../version.ts"
import { providerFor } from "../egress/providers/index.ts"
import type { AppDeps } from "./deps.ts"

const round = (n: number | undefined) => (n === undefined ? null : Math.round(n * 10) / 10)

/** What the dashboard's state is made of. */
export type StateDeps = Pick<AppDeps, "breakers" | "config" | "history" | "registry" | "stats">

export function backendState(deps: StateDeps, b: Backend): BackendState {
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
    alwaysLoaded: providerFor(b.type).lifecycle === undefined,
    models: [...b.models.values()].map((m) => ({
      id: m.id,
      contextLength: m.contextLength ?? null,
      vision: m.capabilities.vision ?? null,
      tools: m.capabilities.tools ?? null,
      json: m.capabilities.json_mode ?? null,
      embeddings: m.capabilities.embeddings ?? null,
      loaded: m.loaded ?? null,
    })),
  }
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
  }
}
