/**
 * Composition root: configuration in, a running gateway out. Wires the registry,
 * health checker, router, observability and the Hono app onto `Bun.serve`.
 * `nexus serve` and the tests both start Nexus through `startGateway`.
 * @module
 */
import type { Server } from "bun"
import { createApp } from "./api/app.ts"
import type { AppDeps } from "./api/deps.ts"
import type { BackendConfig, NexusConfig } from "./config/types.ts"
import { createHealthChecker } from "./health/checker.ts"
import { createLogger, type Logger } from "./observability/log.ts"
import { createMetrics } from "./observability/metrics.ts"
import { createStats } from "./observability/stats.ts"
import { createRegistry } from "./registry/registry.ts"
import type { Backend } from "./registry/types.ts"
import type { AttemptObserver } from "./proxy/forward.ts"
import { createBreakers } from "./routing/breaker.ts"
import { createQueue } from "./routing/queue.ts"
import { createRouter } from "./routing/router.ts"

export interface Gateway {
  url: string
  port: number
  server: Server<undefined>
  deps: AppDeps
  /** Stop accepting, let in-flight requests finish up to `graceMs`, then close. */
  stop(graceMs?: number): Promise<void>
}

export interface StartOptions {
  log?: Logger
  env?: Record<string, string | undefined>
}

/** A configured backend as the registry holds it. Keys come from the environment only. */
export function backendFromConfig(
  cfg: BackendConfig,
  env: Record<string, string | undefined>
): { backend?: Backend; problem?: string } {
  let apiKey: string | undefined
  if (cfg.api_key_env) {
    apiKey = env[cfg.api_key_env]
    if (!apiKey) return { problem: `environment variable ${cfg.api_key_env} is not set` }
  }
  return {
    backend: {
      id: cfg.name,
      name: cfg.name,
      url: cfg.url.replace(/\/+$/, ""),
      type: cfg.type,
      priority: cfg.priority,
      zone: cfg.zone,
      tier: cfg.tier,
      source: "config",
      status: "unknown",
      apiKey,
      timeoutMs: cfg.timeout_seconds ? cfg.timeout_seconds * 1000 : undefined,
      maxConcurrent: cfg.max_concurrent,
      models: new Map(),
      stats: { inFlight: 0, requests: 0, errors: 0, errorRate: 0 },
    },
  }
}

export async function startGateway(config: NexusConfig, opts: StartOptions = {}): Promise<Gateway> {
  let current = config
  const env = opts.env ?? process.env
  const log = opts.log ?? createLogger(config.logging)
  const registry = createRegistry()
  const stats = createStats()
  const metrics = createMetrics(registry)
  const breakers = createBreakers(() => current.routing.circuit_breaker)
  const queue = createQueue(() => current.queue)
  const router = createRouter(registry, () => current.routing, breakers)
  const observer: AttemptObserver = {
    begin: (b) => breakers.begin(b.id),
    success: (b) => breakers.success(b.id),
    failure: (b, reason) => breakers.failure(b.id, reason),
    rateLimited: (b, seconds) => breakers.cooldown(b.id, seconds),
    neutral: (b) => breakers.neutral(b.id),
    released: () => queue.notify(),
  }
  const overrides = new Map(config.backends.map((b) => [b.name, b.models]))
  const health = createHealthChecker({
    registry,
    config: () => current.health_check,
    overrides: (b) => overrides.get(b.name) ?? [],
  })

  registry.on((event) => {
    if (event.type === "status_changed") {
      const fields = { backend: event.backend.name, from: event.from, to: event.to, reason: event.backend.lastError }
      log.info(`backend ${event.backend.name} is ${event.to}`, fields)
      // A backend that comes back may be what queued requests are waiting for.
      queue.notify()
    } else if (event.type === "models_changed") {
      log.debug(`backend ${event.backend.name} models changed`, { models: [...event.backend.models.keys()] })
    }
  })

  for (const cfg of config.backends) {
    const { backend, problem } = backendFromConfig(cfg, env)
    if (backend) registry.add(backend)
    else log.warn(`backend ${cfg.name} skipped: ${problem}`, { backend: cfg.name })
  }

  let server: Server<undefined> | undefined
  const firstProbe = (config.health_check.enabled ? health.start() : health.checkAll()).catch(() => {})
  const deps: AppDeps = {
    config: () => current,
    registry,
    health,
    router,
    breakers,
    queue,
    observer,
    metrics,
    stats,
    log,
    firstProbe,
    noIdleTimeout(req) {
      server?.timeout(req, 0)
    },
  }
  const app = createApp(deps)

  server = Bun.serve({
    hostname: config.server.host,
    port: config.server.port,
    // Proxied requests switch this off for themselves; it guards everything else.
    idleTimeout: 30,
    // Our own reader enforces server.max_body_bytes with an OpenAI-shaped 413.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    fetch: (req) => app.fetch(req),
    error(err) {
      log.error("unhandled server error (a bug in Nexus)", { error: err.stack ?? err.message })
      return Response.json(
        { error: { message: "Internal error in Nexus", type: "server_error", param: null, code: "internal_error" } },
        { status: 500 }
      )
    },
  })

  const s = server
  const port = s.port ?? config.server.port
  const host = config.server.host === "0.0.0.0" || config.server.host === "::" ? "127.0.0.1" : config.server.host
  let stopping: Promise<void> | undefined

  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    server: s,
    deps,
    stop(graceMs = config.server.shutdown_timeout_seconds * 1000) {
      stopping ??= (async () => {
        health.stop()
        s.stop(false)
        const deadline = performance.now() + graceMs
        while (s.pendingRequests > 0 && performance.now() < deadline) await Bun.sleep(25)
        await s.stop(true)
      })()
      return stopping
    },
  }
}

/** Hot paths read config through `deps.config()`; exposed for reload later. */
export type { NexusConfig }
