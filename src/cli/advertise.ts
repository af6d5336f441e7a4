/**
 * `nexus advertise`: publish this machine's inference servers on the LAN as `_llm._tcp`
 * so every `nexus serve` nearby finds them with no configuration.
 * @module
 */
import { defineCommand } from "citty"
import { join } from "node:path"
import { applyEnv, applyFlags } from "../config/overrides.ts"
import { defaultConfig } from "../config/parse.ts"
import { FIELDS } from "../config/schema.ts"
import { LOG_FORMATS, LOG_LEVELS } from "../config/types.ts"
import { checkInto, numberFrom } from "../config/values.ts"
import { startAdvertiser } from "../discovery/advertiser.ts"
import { createMdns } from "../discovery/mdns.ts"
import { createLogger } from "../observability/log.ts"
import { dataDir } from "../persist/store.ts"
import { fail } from "./client.ts"

/** Probing here is discovery's probing: same defaults, same rules as [discovery]. */
const DEFAULTS = defaultConfig()

interface AdvertiseArgs {
  ports?: string
  interval?: string
  "log-level"?: string
  "log-format"?: string
}

/** The settings from flags, NEXUS_LOG_* and defaults; every bad value listed, exit 2. */
function settings(args: AdvertiseArgs) {
  const config = defaultConfig()
  const problems = [
    ...applyEnv(config, process.env, ["logLevel", "logFormat"]),
    ...applyFlags(config, { logLevel: args["log-level"], logFormat: args["log-format"] }),
  ]
  const ports = (args.ports ? args.ports.split(",") : DEFAULTS.discovery.probe_ports).map((raw, i) =>
    checkInto(problems, `--ports[${i}]`, raw, FIELDS.probe_port, numberFrom)
  )
  const interval =
    args.interval === undefined
      ? DEFAULTS.discovery.probe_interval_seconds
      : checkInto(problems, "--interval", args.interval, FIELDS.probe_interval_seconds, numberFrom)
  if (problems.length) fail(problems.join("\n"), 2)
  return { ports: ports as number[], interval: interval!, logging: config.logging }
}

export const advertiseCommand = defineCommand({
  meta: {
    name: "advertise",
    description:
      "Advertise this machine's LLM servers over mDNS (_llm._tcp) until stopped; withdraws them on exit.\n\nExamples:\n  nexus advertise\n  nexus advertise --ports 11434,8000 --interval 10",
  },
  args: {
    ports: { type: "string", description: `Ports to probe on this machine (default ${DEFAULTS.discovery.probe_ports.join(",")})` },
    interval: { type: "string", description: `Seconds between probes (default ${DEFAULTS.discovery.probe_interval_seconds})` },
    "log-level": { type: "string", description: LOG_LEVELS.join("|") },
    "log-format": { type: "string", description: LOG_FORMATS.join("|") },
  },
  async run({ args }) {
    const { ports, interval, logging } = settings(args)
    const log = createLogger(logging)

    // The host name this box claims on the LAN is kept where `serve` keeps its state.
    const mdns = createMdns((m) => log.warn(m), { stateFile: join(dataDir(undefined), "mdns-host-name") })
    const advertiser = startAdvertiser({ mdns, ports, intervalMs: interval * 1000, log })
    log.info(`advertising LLM servers on ports ${ports.join(", ")} every ${interval} s`)
    let stopping = false
    const stop = async (signal: string) => {
      if (stopping) process.exit(1)
      stopping = true
      log.info(`${signal}: withdrawing advertisements`)
      await advertiser.stop()
      process.exit(0)
    }
    process.on("SIGINT", () => void stop("SIGINT"))
    process.on("SIGTERM", () => void stop("SIGTERM"))
    await new Promise(() => {})
  },
})
