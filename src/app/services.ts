/**
 * The gateway's domain services, built from the configuration and wired to each other
 * only through registry events: the health checker probes what the registry gains, the
 * queue hears of freed slots and changed backends, the log hears of status changes.
 * @module
 */
import type { NexusConfig } from "../config/types.ts"
import { realClock, type Clock } from "../core/clock.ts"
import { createEventBus, type RequestRecord } from "../core/events.ts"
import { createHealthChecker } from "../health/checker.ts"
import type { Logger } from "../observability/log.ts"
import { createHistory } from "../observability/history.ts"
import { createMetrics } from "../observability/metrics.ts"
import { observeFleet } from "../observability/fleet-metrics.ts"
import { observeQueue } from "../observability/queue-metrics.ts"
import { observeRequests } from "../observability/record.ts"
import { createListenerFaults } from "../observability/listener-faults.ts"
import { createStats } from "../observability/stats.ts"
import { createSpend, type Spend } from "../observability/cost.ts"
import { createKeyUsage, type KeyUsage } from "../observability/key-usage.ts"
import type { StateBacking } from "../persist/backing.ts"
import type { DemandStore } from "../persist/demand.ts"
import { watchState } from "../observability/state-up.ts"
import { createKeyLimits } from "../policy/key-limits.ts"
import { sharedKeyLimits } from "../policy/key-limits-shared.ts"
import { createKeyTable } from "../policy/key-table.ts"
import { createStages } from "../policy/index.ts"
import { createRegistry } from "../registry/registry.ts"
import { createBreakers } from "../routing/breaker.ts"
import { createFeedback } from "../routing/feedback.ts"
import { createQueue } from "../routing/queue.ts"
import { createRouter } from "../routing/router.ts"
import { createSessionTable, sharedSessionTable } from "../routing/sessions.ts"
import { providerFor } from "../egress/providers/index.ts"
import { createFleet } from "../fleet/fleet.ts"
import { createFleetControl } from "../fleet/control.ts"
import { createFleetAuto } from "../fleet/auto.ts"

export type Services = ReturnType<typeof createServices>

export function createServices(config: () => NexusConfig, log: Logger, state: StateBacking, demand: DemandStore, clock: Clock = realClock) {
  const faults = createListenerFaults(log)
  const registry = createRegistry(faults.of("registry"))
  const breakers = createBreakers(() => config().routing.circuit_breaker)
  const queue = createQueue(() => config().queue)
  // The router comes after the fleet (it reads it); pins resolve through it once both exist.
  const fleet = createFleet(registry, { config: () => config().fleet, now: () => new Date(clock.now()), resolve: (model) => router.resolve(model) })
  const router = createRouter(registry, () => config().routing, breakers, fleet)
  const fleetControl = createFleetControl({
    registry,
    fleet,
    lifecycleOf: (type) => providerFor(type).lifecycle,
    timeoutMs: () => config().server.cold_first_byte_timeout_seconds * 1000,
    resolve: (model) => router.resolve(model),
    now: () => clock.now(),
  })
  const fleetAuto = createFleetAuto({
    registry,
    fleet,
    control: fleetControl,
    config: () => config().fleet,
    clock,
    lifecycleOf: (type) => providerFor(type).lifecycle,
    waiting: (model) => queue.waitingFor(model),
    store: demand,
    log,
  })
  const feedback = createFeedback(registry, breakers)
  // Read through getters so that a reload applies to the table in place.
  const sessionOptions = {
    get maxEntries() {
      return config().routing.sessions.max_entries
    },
    get idleMs() {
      return config().routing.sessions.idle_seconds * 1000
    },
  }
  const localSessions = createSessionTable(sessionOptions)
  const sessions = state.sessions ? sharedSessionTable(localSessions, state.sessions, sessionOptions) : localSessions
  const overrides = (name: string) => config().backends.find((b) => b.name === name)?.models ?? []
  const health = createHealthChecker({ registry, config: () => config().health_check, overrides: (b) => overrides(b.name) })

  registry.on((event) => {
    switch (event.type) {
      case "load_changed":
        if (event.released) queue.released()
        return
      case "status_changed": {
        const { backend, from, to } = event
        log.info(`backend ${backend.name} is ${to}`, { backend: backend.name, from, to, reason: backend.lastError })
        // A backend that comes back may be what queued requests are waiting for.
        return queue.changed()
      }
      case "backend_removed":
        return sessions.forgetBackend(event.backend.id)
      case "settings_changed":
      case "backend_added":
        return queue.changed()
      case "native_refused":
        log.info(`backend ${event.backend.name} has no ${event.dialect} route of its own: translating those requests`, { backend: event.backend.name, dialect: event.dialect })
        return
      case "models_changed":
        fleetControl.enforcePins(event.backend)
        if (event.idsChanged) log.debug(`backend ${event.backend.name} models changed`, { models: [...event.backend.models.keys()] })
    }
  })

  const stats = createStats()
  const metrics = createMetrics(registry)
  faults.register(metrics.registry)
  observeFleet(metrics.registry, fleet)
  observeQueue(metrics.registry, queue)
  watchState(state, metrics.registry)
  /** Every finished request; observability subscribes, and so may the dashboard. */
  const requests = createEventBus<RequestRecord>(faults.of("request"))
  requests.on(observeRequests({ metrics, stats, log }))
  const history = createHistory()
  requests.on(history.record)
  const keys = createKeys(state, config, metrics, log)
  requests.on(keys.usage.observe)
  const spend = withKeyHolds(createSpend(state.ledger, config, metrics.registry, log), keys.usage)
  requests.on(spend.observe)
  requests.on(fleetAuto.observe)
  fleetAuto.start()
  const stages = createStages({ config: () => config().routing, registry, budget: spend.status, keySpend: keys.usage.spendOf })

  return { registry, fleet, fleetControl, fleetAuto, breakers, queue, router, feedback, sessions, health, stats, metrics, requests, history, spend, stages, keys }
}

function createKeys(state: StateBacking, config: () => NexusConfig, metrics: ReturnType<typeof createMetrics>, log: Logger) {
  const store = state.keys
  // No key is accepted while they cannot be read: refusing is the safe side.
  const table = createKeyTable(store, (err) => log.error(`cannot read the API keys from ${state.where}: ${err.message}`))
  store.watch?.(table.learn)
  const limits = state.buckets ? sharedKeyLimits(state.buckets) : createKeyLimits()
  const usage = createKeyUsage({ table, limits, store, config, registry: metrics.registry, log })
  return { table, limits, usage }
}

/** A cloud attempt of a capped key reserves against the key's cap as well as the budget. */
function withKeyHolds(spend: Spend, usage: KeyUsage): Spend {
  const reserve: Spend["reserve"] = (req, backend, model) => {
    const budget = spend.reserve(req, backend, model)
    if (req.key?.monthlyUsd === undefined) return budget
    const key = usage.reserve(req, backend, model)
    if (!key || !budget) return key ?? budget
    return {
      release() {
        budget.release()
        key.release()
      },
    }
  }
  return { ...spend, reserve }
}
