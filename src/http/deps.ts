/**
 * What the HTTP surfaces need from the rest of the gateway. The composition root
 * (`server.ts`) builds it; tests build it the same way, never with fakes.
 * @module
 */
import type { EventBus, RequestRecord } from "../core/events.ts"
import type { AttemptFeedback } from "../core/outcome.ts"
import type { NexusConfig } from "../config/types.ts"
import type { HealthChecker } from "../health/checker.ts"
import type { Logger } from "../observability/log.ts"
import type { History } from "../observability/history.ts"
import type { Metrics } from "../observability/metrics.ts"
import type { Stats } from "../observability/stats.ts"
import type { Spend } from "../observability/cost.ts"
import type { PolicyStage } from "../core/policy.ts"
import type { Registry } from "../registry/registry.ts"
import type { Fleet } from "../fleet/fleet.ts"
import type { FleetControl } from "../fleet/control.ts"
import type { FleetAuto } from "../fleet/auto.ts"
import type { Breakers } from "../routing/breaker.ts"
import type { RequestQueue } from "../routing/queue.ts"
import type { Router } from "../routing/router.ts"
import type { SessionTable } from "../routing/sessions.ts"
import type { BackendManager } from "../registry/manage.ts"
import type { ResponseStore } from "../persist/responses.ts"
import type { RequestScope } from "./scope.ts"
import type { KeyTable } from "../policy/key-table.ts"
import type { KeyLimits } from "../policy/key-limits.ts"
import type { KeyUsage } from "../observability/key-usage.ts"

export interface AppDeps {
  config(): NexusConfig
  registry: Registry
  health: HealthChecker
  router: Router
  /** Model residency: loads in progress, learned load times, pins. */
  fleet: Fleet
  /** Load, unload and pin on command. */
  fleetControl: FleetControl
  /** What auto would load or unload next and why (and does, when on). */
  fleetAuto: FleetAuto
  /** Sticky sessions: the backend each conversation was served by last. */
  sessions: SessionTable
  breakers: Breakers
  queue: RequestQueue
  /** Takes slots for attempts and feeds their results to breakers, averages and the queue. */
  feedback: AttemptFeedback
  metrics: Metrics
  /** Every finished request is published here (metrics, stats and the log subscribe). */
  requests: EventBus<RequestRecord>
  stats: Stats
  /** The last requests and the 15-minute series, for the dashboard. */
  history: History
  log: Logger
  /** Aborted when Nexus stops and the grace period is over: open streams end cleanly. */
  shutdown: AbortSignal
  /** Resolves when the first round of health probes has finished. */
  firstProbe: Promise<void>
  /** Disable Bun's idle timer for a long-running proxied request. */
  noIdleTimeout(req: Request): void
  /** Close the connection of `req` after this many seconds without progress. */
  idleTimeout(req: Request, seconds: number): void
  /** The client's address, for the loopback rule of admin endpoints. */
  clientIP(req: Request): string | undefined
  manager: BackendManager
  /** Cost of requests, month-to-date spend and the budget's status. */
  spend: Spend
  /** The policy stages, in order (privacy zone, tier, budget). */
  stages: readonly PolicyStage[]
  /** Client API keys: the table, their limits and their usage. */
  keys: { table: KeyTable; limits: KeyLimits; usage: KeyUsage }
  /** Responses Nexus made and keeps (previous_response_id, GET /v1/responses/{id}). */
  responses: ResponseStore
  /** Re-read the configuration and apply it (the admin reload endpoint). */
  reload(): Promise<string[]>
}

/** Hono environment: nothing in bindings; handlers read deps by closure. */
export type Env = {
  Variables: {
    scope: RequestScope
  }
}
