/**
 * Subscribers that throw: the event bus carries on with the others, and here each failure
 * is counted (`nexus_event_listener_errors_total`, by bus) and each kind of failure logged
 * once, so a broken subscriber (say, the one that records spend) is seen, not swallowed.
 * @module
 */
import { faultKind, type ListenerFault } from "../core/events.ts"
import type { Logger } from "../core/logger.ts"
import { Counter, type Registry } from "./prom.ts"

export function createListenerFaults(log: Logger) {
  const counts = new Map<string, number>()
  const told = new Set<string>()
  return {
    /** The fault handler of the bus called `bus`. */
    of(bus: string): ListenerFault {
      return (err, listener) => {
        counts.set(bus, (counts.get(bus) ?? 0) + 1)
        const kind = `${bus}: ${faultKind(err, listener)}`
        if (told.has(kind)) return
        told.add(kind)
        const message = err instanceof Error ? err.message : String(err)
        log.error(`a subscriber to ${bus} events failed (${kind}); it is counted in nexus_event_listener_errors_total and not logged again: ${message}`, {
          bus,
          error: message,
        })
      }
    },
    /** The metric, read from the counts when scraped (the registry is made after the buses). */
    register(registry: Registry): void {
      new Counter({
        name: "nexus_event_listener_errors_total",
        help: "Event subscribers that threw, by event bus.",
        labelNames: ["bus"],
        registers: [registry],
        collect() {
          this.reset()
          for (const [bus, n] of counts) this.inc({ bus }, n)
        },
      })
    },
  }
}
