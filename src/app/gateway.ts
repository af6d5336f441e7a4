/**
 * Composition root: configuration in, a running gateway out. Only wiring: `nexus serve`
 * and the tests both start Nexus through `startGateway`.
 * @module
 */
import { realClock } from "../core/clock.ts"
import type { Server } from "bun"
import type { NexusConfig } from "../config/types.ts"
import { fingerprint } from "../discovery/fingerprint.ts"
import { createApp } from "../http/app.ts"
import type { AppDeps } from "../http/deps.ts"
import { createLogger } from "../observability/log.ts"
import { embeddedState } from "../persist/backing.ts"
import { openDemandStore } from "../persist/demand.ts"
import { openStateOrWarn } from "../persist/open.ts"
import { redisState } from "../persist/redis/index.ts"
import { stateFile } from "../persist/state-file.ts"
import { openResponseStore } from "../persist/responses.ts"
import { openStore } from "../persist/store.ts"
import { createBackendManager } from "../registry/manage.ts"
import { requireKeys } from "../registry/create.ts"
import { discoveryLifecycle } from "./discovery.ts"
import { listen } from "./listen.ts"
import { createReload, type ReloadResult } from "./reload.ts"
import type { Gateway, StartOptions } from "./types.ts"

export type { Gateway, StartOptions }
import { createServices } from "./services.ts"

export async function startGateway(config: NexusConfig, opts: StartOptions = {}): Promise<Gateway> {
  let current = config
  const env = opts.env ?? process.env
  const log = opts.log ?? createLogger(config.logging)
  requireKeys(config.backends, env)
  const state = opts.persist === false ? stateFile(undefined) : openStateOrWarn(config.server.data_dir, env, log)
  const { url } = config.state
  const backing = url ? await redisState({ ...config.state, url }, env, log) : embeddedState(state)
  // Demand for pre-warming stays in this instance's own file, shared state or not.
  const services = createServices(() => current, log, backing, openDemandStore(state), opts.clock ?? realClock)
  const { registry, health, queue } = services
  const store = backing.backends ?? (opts.persist === false ? undefined : openStore(state))
  const manager = createBackendManager({ registry, store, env, log, config: () => current, identify: (url) => fingerprint(url) })

  manager.addConfigured(config.backends)
  manager.restore()
  health.follow()
  const firstProbe = (config.health_check.enabled ? health.start() : health.checkAll()).catch(() => {})

  let server: Server<undefined> | undefined
  const shutdown = new AbortController()
  const applyReload = createReload({
    current: () => current,
    load: opts.loadConfig ?? (async () => current),
    install(next) {
      current = next
      log.setLevel(next.logging.level)
    },
    consumers: [(diff) => manager.applyConfig(diff), () => queue.changed(), (diff, next) => discovery.onReload(diff, next)],
  })
  const reload = async (): Promise<ReloadResult> => {
    const result = await applyReload()
    const { lines } = result
    log.info(lines.length ? `configuration reloaded: ${lines.join("; ")}` : "configuration reloaded: nothing changed")
    return result
  }
  const deps: AppDeps = {
    ...services,
    config: () => current,
    log,
    firstProbe,
    shutdown: shutdown.signal,
    noIdleTimeout: (req) => server?.timeout(req, 0),
    idleTimeout: (req, seconds) => server?.timeout(req, seconds),
    clientIP: (req) => server?.requestIP(req)?.address,
    manager,
    responses: openResponseStore(state, () => ({ maxStored: current.responses.max_stored, maxAgeMs: current.responses.max_age_days * 86_400_000 })),
    reload: async () => (await reload()).lines,
  }
  const listener = listen(createApp(deps), { host: config.server.host, port: config.server.port, log })
  server = listener.server
  const discovery = discoveryLifecycle({ config: () => current, registry, health, manager, log, port: listener.port, clock: opts.clock })
  let stopping: Promise<void> | undefined

  return {
    url: listener.url,
    port: listener.port,
    server: listener.server,
    deps,
    manager,
    discovery,
    reload,
    stop(graceMs = config.server.shutdown_timeout_seconds * 1000) {
      stopping ??= (async () => {
        health.stop()
        services.fleetAuto.stop()
        // Withdraw our advertisement (goodbye packets) before we stop answering.
        await discovery.stop()
        await listener.stop(graceMs, () => shutdown.abort())
        // Again: the demand of requests that finished while draining is saved too.
        services.fleetAuto.stop()
        await backing.close()
        state.close()
      })()
      return stopping
    },
  }
}
