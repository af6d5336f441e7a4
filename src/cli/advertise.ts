/**
 * `nexus advertise`: publish this machine's inference servers on the LAN as `_llm._tcp`
 * so every `nexus serve` nearby finds them with no configuration.
 * @module
 */
import { defineCommand } from "citty"
import { DEFAULT_PROBE_PORTS } from "../config/schema.ts"
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "../config/types.ts"
import { startAdvertiser } from "../discovery/advertiser.ts"
import { createMdns } from "../discovery/mdns.ts"
import { createLogger } from "../observability/log.ts"
import { fail } from "./client.ts"

export const advertiseCommand = defineCommand({
  meta: {
    name: "advertise",
    description:
      "Advertise this machine's LLM servers over mDNS (_llm._tcp) until stopped; withdraws them on exit.\n\nExamples:\n  nexus advertise\n  nexus advertise --ports 11434,8000 --interval 10",
  },
  args: {
    ports: { type: "string", description: `Ports to probe on this machine (default ${DEFAULT_PROBE_PORTS.join(",")})` },
    interval: { type: "string", description: "Seconds between probes (default 30)" },
    "log-level": { type: "string", description: LOG_LEVELS.join("|") },
    "log-format": { type: "string", description: LOG_FORMATS.join("|") },
  },
  async run({ args }) {
    const ports = args.ports ? args.ports.split(",").map((p) => Number(p.trim())) : [...DEFAULT_PROBE_PORTS]
    if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) fail("--ports: expected comma-separated port numbers (1-65535)", 2)
    const interval = args.interval === undefined ? 30 : Number(args.interval)
    if (!Number.isFinite(interval) || interval < 1) fail("--interval: expected a number of seconds, at least 1", 2)
    const level = (args["log-level"] ?? process.env.NEXUS_LOG_LEVEL ?? "info").toLowerCase()
    const format = (args["log-format"] ?? process.env.NEXUS_LOG_FORMAT ?? "pretty").toLowerCase()
    if (!(LOG_LEVELS as readonly string[]).includes(level)) fail(`--log-level: expected one of ${LOG_LEVELS.join(", ")}`, 2)
    if (!(LOG_FORMATS as readonly string[]).includes(format)) fail(`--log-format: expected one of ${LOG_FORMATS.join(", ")}`, 2)
    const log = createLogger({ level: level as LogLevel, format: format as LogFormat })

    const mdns = createMdns((m) => log.warn(m))
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
