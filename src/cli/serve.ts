/**
 * `nexus serve`: load the configuration (flags > env > file > defaults), start the
 * gateway, and stop gracefully on SIGINT/SIGTERM.
 * @module
 */
import { defineCommand } from "citty"
import { ConfigError } from "../config/errors.ts"
import { defaultConfig, loadConfig } from "../config/load.ts"
import { LOG_FORMATS, LOG_LEVELS } from "../config/types.ts"
import { createLogger } from "../observability/log.ts"
import { ensureServeRuntime } from "./serve-runtime.ts"
import { startGateway } from "../app/gateway.ts"
import { VERSION } from "../version.ts"

const DEFAULTS = defaultConfig()

export const serveCommand = defineCommand({
  meta: {
    name: "serve",
    description:
      "Start the gateway.\n\nExamples:\n  nexus serve\n  nexus serve --config /etc/nexus/nexus.toml\n  nexus serve --port 9000 --log-level debug --no-discovery",
  },
  args: {
    config: { type: "string", alias: "c", description: "Config file (default: nexus.toml, or $NEXUS_CONFIG)" },
    port: { type: "string", alias: "p", description: `Port to listen on (default ${DEFAULTS.server.port}, or $NEXUS_PORT)` },
    host: { type: "string", alias: "H", description: `Address to bind (default ${DEFAULTS.server.host}, or $NEXUS_HOST)` },
    "log-level": { type: "string", alias: "l", description: LOG_LEVELS.join("|") },
    "log-format": { type: "string", description: LOG_FORMATS.join("|") },
    discovery: { type: "boolean", description: "Find backends by probing and mDNS (--no-discovery to turn off)" },
    "health-check": { type: "boolean", description: "Probe backends periodically (--no-health-check to turn off)" },
  },
  async run({ args }) {
    await ensureServeRuntime()
    const flags = {
      config: args.config,
      port: args.port,
      host: args.host,
      logLevel: args["log-level"],
      logFormat: args["log-format"],
      discovery: args.discovery,
      healthCheck: args["health-check"],
    }
    let loaded
    try {
      loaded = await loadConfig({ flags })
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`)
        process.exit(err.exitCode)
      }
      throw err
    }
    const { config, path } = loaded
    const log = createLogger(config.logging)
    for (const note of loaded.notes) log.warn(note)

    // One stray rejected promise in a stream path must not take the gateway down.
    process.on("unhandledRejection", (reason) => {
      log.error("unhandled promise rejection", { error: reason instanceof Error ? reason.message : String(reason) })
    })

    const gateway = await startGateway(config, { log, loadConfig: async () => (await loadConfig({ flags })).config }).catch((err: Error & { code?: string }) => {
      const hint = err.code === "EADDRINUSE" ? ` (is another process using port ${config.server.port}?)` : ""
      log.error(`cannot start: ${err.message}${hint}`)
      process.exit(1)
    })
    log.info(`Nexus ${VERSION} listening on http://${config.server.host}:${gateway.port}`, {
      config: path ?? "(defaults, no file)",
      backends: gateway.deps.registry.list().length,
    })

    let signals = 0
    const shutdown = async (signal: string) => {
      if (++signals > 1) {
        log.warn(`${signal} again: exiting now`)
        process.exit(1)
      }
      log.info(`${signal}: draining in-flight requests (up to ${config.server.shutdown_timeout_seconds} s)`)
      await gateway.stop()
      log.info("stopped")
      process.exit(0)
    }
    // SIGHUP re-reads the file; an invalid one leaves the running configuration untouched.
    process.on("SIGHUP", () => {
      gateway.reload().catch((err: Error) => {
        const why = err instanceof ConfigError ? err.message : (err.stack ?? err.message)
        log.error(`reload refused, running configuration unchanged:\n${why}`)
      })
    })
    process.on("SIGINT", () => void shutdown("SIGINT"))
    process.on("SIGTERM", () => void shutdown("SIGTERM"))
  },
})
