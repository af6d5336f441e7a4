/**
 * Nexus's own wait queue in Prometheus: how many requests wait, by the model they wait
 * for. Read from the queue's counts at scrape time, so the request path does nothing for it.
 * @module
 */
import type { RequestQueue } from "../routing/queue.ts"
import { Gauge, type Registry } from "./prom.ts"

export function observeQueue(registry: Registry, queue: Pick<RequestQueue, "waiting">): void {
  // Only models the router resolved to a backend ever wait, so this stays small.
  const seen = new Set<string>()
  new Gauge({
    name: "nexus_queue_waiting",
    help: "Requests waiting in Nexus's queue for a slot (every backend serving the model is at max_concurrent), by the model they wait for.",
    labelNames: ["model"] as const,
    registers: [registry],
    collect() {
      // A model nobody waits for any more reads 0 rather than vanishing from the graph.
      for (const model of seen) this.set({ model }, 0)
      for (const [model, n] of queue.waiting()) {
        seen.add(model)
        this.set({ model }, n)
      }
    },
  })
}
