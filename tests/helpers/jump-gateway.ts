/**
 * `bun tests/helpers/jump-gateway.ts <config.toml>`: the gateway as `nexus serve` starts it
 * (same config loading, logger and SIGTERM stop), on a clock the test jumps: a line
 * `jump <ms>` on stdin moves it forward, and `jumped <ms>` on stdout says the timers it
 * made due have run. Run inside a network namespace by the mDNS tests.
 */
import { startGateway } from "../../src/app/gateway.ts"
import { loadConfig } from "../../src/config/load.ts"
import { createLogger } from "../../src/observability/log.ts"
import { jumpClock } from "./jump-clock.ts"

const flags = { config: process.argv[2] }
const { config } = await loadConfig({ flags })
const log = createLogger(config.logging)
const clock = jumpClock()
const gateway = await startGateway(config, { log, clock, loadConfig: async () => (await loadConfig({ flags })).config })
process.on("SIGTERM", () => void gateway.stop().then(() => process.exit(0)))

for await (const line of console) {
  const ms = /^jump (\d+)$/.exec(line.trim())?.[1]
  if (!ms) continue
  clock.jump(Number(ms))
  console.log(`jumped ${ms}`)
}
