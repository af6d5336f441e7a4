/**
 * `nexus_state_up`: whether the state store answers, for alerts on a shared Redis or
 * Valkey that several instances lean on (always 1 for the embedded state file).
 * @module
 */
import type { StateBacking } from "../persist/backing.ts"
import { Gauge, type Registry } from "./prom.ts"

export function watchState(state: StateBacking, registry: Registry): void {
  new Gauge({
    name: "nexus_state_up",
    help: "1 while the state store answers ([state] url, or the embedded file), 0 while it cannot be reached",
    registers: [registry],
    collect() {
      this.set(state.isUp() ? 1 : 0)
    },
  })
}
