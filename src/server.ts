/**
 * Composition root: configuration in, a running gateway out. Wires the registry,
 * health checker, router, observability and the Hono app onto `Bun.serve`.
 * `nexus serve` and the tests both start Nexus through `startGateway`.
 * @module
 */
import type { Server } from "bun"
import { createApp, describeError } from "./api/app.ts"
import type { AppDeps } from "./api/deps.ts"
import type { NexusConfig } from "./config/types.ts"
import { createHealthChecker } from "./health/checker.ts"
import { createLogger, type Logger } from "./observability/log.ts"
import { createMetrics } from "./observability/metrics.ts"
import { createStats } from "./observability/stats.ts"
import { createRegistry } from "./registry/registry.ts"
import { createBackend } from "./registry/create.ts"
import type { AttemptObserver } from "./proxy/forward.ts"
import { createBreakers } from "./routing/breaker.ts"
import { createQueue } from "./routing/queue.ts"
import { createRouter } from "./routing/router.ts"
import { dataDir, openStore, type Store } from "./persist/store.ts"
import { createRuntime, type Runtime } from "./runtime.ts"
import { startDiscovery } from "./discovery/index.ts"

export interface Gateway {
  url: string
  port: number
  server: Server<undefined>
  deps: AppDeps
  runtime: Runtime
  /** Re-read the configuration and apply the difference; throws ConfigError when invalid. */
  reload(): Promise<string[]>
  /** Stop accepting, let in-flight requests finish up to `graceMs`, then close. */
  stop(graceMs?: number): Promise<void>
}

export interface StartOptions {
  log?: Logger
  env?: Record<string, string | undefined>
  /** Where a reload reads the configuration from (the file `serve` was started with). */
  loadConfig?: () => Promise<NexusConfig>
  /** Keep runtime-added backends in the data directory (default true). */
  persist?: boolean
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
    const { backend, problem } = createBackend(cfg, env)
    if (backend) registry.add(backend)
    else log.warn(`backend ${cfg.name} skipped: ${problem}`, { backend: cfg.name })
  }

  let store: Store | undefined
  if (opts.persist !== false) {
    const dir = dataDir(config.server.data_dir, env)
    try {
      store = openStore(dir)
    } catch (err) {
      log.warn(`runtime-added backends will not survive a restart: cannot open ${dir}: ${(err as Error).message}`)
    }
  }
  const runtime = createRuntime({
    registry,
    health,
    store,
    env,
    log,
    overrides,
    config: () => current,
    setConfig(next) {
      current = next
      log.setLevel(next.logging.level)
      queue.notify()
    },
  })
  runtime.restore()
  const reload = async (): Promise<string[]> => {
    const before = current.discovery
    const lines = runtime.apply(opts.loadConfig ? await opts.loadConfig() : current)
    // Discovery keeps timers and sockets: a changed [discovery] restarts it.
    if (JSON.stringify(before) !== JSON.stringify(current.discovery)) {
      await discovery?.stop().catch(() => {})
      discovery = startDiscoveryIfEnabled()
      if (!current.discovery.enabled) runtime.forgetDiscovered()
      const line = `discovery ${current.discovery.enabled ? "restarted with the new [discovery] settings" : "turned off"}`
      log.info(line)
      lines.push(line)
    }
    return lines
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
    clientIP(req) {
      return server?.requestIP(req)?.address
    },
    runtime,
    reload,
  }
  const app = createApp(deps)

  server = Bun.serve({
    hostname: config.server.host,
    port: config.server.port,
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
      log.error("unhandled server error (a bug in Nexus)", { error: describeError(err) })
      return Response.json(
        { error: { message: "Internal error in Nexus", type: "server_error", param: null, code: "internal_error" } },
        { status: 500 }
      )
    },
  })

  const s = server
  const port = s.port ?? config.server.port
  const startDiscoveryIfEnabled = () =>
    current.discovery.enabled ? startDiscovery({ config: () => current, registry, health, runtime, log, port }) : undefined
  let discovery = startDiscoveryIfEnabled()
  const host = config.server.host === "0.0.0.0" || config.server.host === "::" ? "127.0.0.1" : config.server.host
  let stopping: Promise<void> | undefined

  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    server: s,
    deps,
    runtime,
    reload,
    stop(graceMs = config.server.shutdown_timeout_seconds * 1000) {
      stopping ??= (async () => {
        health.stop()
        // Withdraw our advertisement (goodbye packets) before we stop answering.
        await discovery?.stop().catch(() => {})
        s.stop(false)
        const deadline = performance.now() + graceMs
        while (s.pendingRequests > 0 && performance.now() < deadline) await Bun.sleep(25)
        await s.stop(true)
        store?.close()
      })()
      return stopping
    },
  }
}

/** Hot paths read config through `deps.config()`; exposed for reload later. */
export type { NexusConfig }
