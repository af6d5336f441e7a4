/**
 * Model residency in Prometheus: loads by backend, model and reason (a request, an
 * explicit command, a pin, auto's pre-warm or second copy), unloads by reason (a command,
 * auto's idle unload), how long loads took, and how many requests found their model
 * loaded (the warm-hit ratio). Loads are rare, so plain prom-client series do.
 * @module
 */
import type { Fleet } from "../fleet/fleet.ts"
import { Counter, Gauge, Histogram, type Registry } from "./prom.ts"

const LOAD_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600]

export function observeFleet(registry: Registry, fleet: Fleet): () => void {
  const loads = new Counter({
    name: "nexus_model_loads_total",
    help: "Models loaded on a backend, by why: request (a request for a cold model), explicit (a load command), pin, prewarm (before usual demand), migrate (a second copy for a growing queue).",
    labelNames: ["backend", "model", "reason"] as const,
    registers: [registry],
  })
  const seconds = new Histogram({
    name: "nexus_model_load_seconds",
    help: "Time a model took to load (a cold request: until the backend answered; a command: until it said loaded).",
    labelNames: ["backend", "model"] as const,
    buckets: LOAD_BUCKETS,
    registers: [registry],
  })
  // Counted by the fleet (two integers on the request path), read at scrape time.
  new Counter({
    name: "nexus_model_requests_total",
    help: "Attempts on servers that load and unload models, by whether the model was loaded (warm) or had to load (cold).",
    labelNames: ["residency"] as const,
    registers: [registry],
    collect() {
      this.reset()
      this.inc({ residency: "warm" }, fleet.counts.warm)
      this.inc({ residency: "cold" }, fleet.counts.cold)
    },
  })
  new Gauge({
    name: "nexus_model_warm_hit_ratio",
    help: "Share of those attempts that found their model loaded (1 when there were none).",
    registers: [registry],
    collect() {
      const { warm, cold } = fleet.counts
      this.set(warm + cold === 0 ? 1 : warm / (warm + cold))
    },
  })
  const unloads = new Counter({
    name: "nexus_model_unloads_total",
    help: "Models Nexus unloaded from a backend, by why: explicit (an unload command), idle (auto's second copy went unused).",
    labelNames: ["backend", "model", "reason"] as const,
    registers: [registry],
  })
  const offLoad = fleet.onLoad((e) => {
    loads.inc({ backend: e.backend, model: e.model, reason: e.reason })
    seconds.observe({ backend: e.backend, model: e.model }, e.ms / 1000)
  })
  const offUnload = fleet.onUnload((e) => unloads.inc({ backend: e.backend, model: e.model, reason: e.reason }))
  return () => {
    offLoad()
    offUnload()
  }
}
