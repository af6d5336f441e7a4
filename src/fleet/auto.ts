/**
 * The fleet acting on its own (`[fleet] auto`): every minute of the gateway's clock it
 * samples each model's queue per box (requests in flight there, plus those waiting in
 * Nexus's own queue for the model), plans (planner.ts), and, when auto is on,
 * carries the plan out through FleetControl, which refuses to unload a model in use or
 * pinned whoever asks. Demand is recorded from finished requests and kept in the state
 * file. With auto off the same plan is only reported (GET /v1/fleet/plan).
 * @module
 */
import type { Backend, BackendType } from "../core/backend.ts"
import type { Clock } from "../core/clock.ts"
import type { RequestRecord } from "../core/events.ts"
import type { Logger } from "../core/logger.ts"
import type { FleetConfig } from "../config/types.ts"
import type { DemandStore } from "../persist/demand.ts"
import type { Registry } from "../registry/registry.ts"
import type { FleetControl } from "./control.ts"
import { createDemand, HOUR_MS, hourStart } from "./demand.ts"
import { residencyKey, type Fleet } from "./fleet.ts"
import type { Lifecycle } from "./lifecycle.ts"
import { GROWTH_SAMPLES, planFleet, type Action, type ExtraCopy, type PlanFacts } from "./planner.ts"

export interface AutoDeps {
  registry: Registry
  fleet: Fleet
  control: FleetControl
  config(): FleetConfig
  clock: Clock
  lifecycleOf(type: BackendType): Lifecycle | undefined
  /** Requests waiting in Nexus's queue for `model` (every box serving it is at capacity). */
  waiting(model: string): number
  store?: DemandStore
  log: Logger
}

export type FleetAuto = ReturnType<typeof createFleetAuto>

const TICK_MS = 60_000

export function createFleetAuto(deps: AutoDeps) {
  const { registry, fleet, control, clock, log } = deps
  const demand = createDemand()
  demand.restore(deps.store?.rows() ?? [])
  const queues = new Map<string, { backend: Backend; model: string; depths: number[] }>()
  const extras = new Map<string, ExtraCopy>()
  /** model -> the hour it was last pre-warmed for. */
  const prewarmedFor = new Map<string, number>()
  let timer: unknown
  let acting = false
  // Names of backends that load and unload models: only their requests are demand worth
  // keeping (a fleet of always-loaded servers never opens the state file for it).
  let names: Set<string> | undefined
  registry.on((e) => {
    if (e.type === "backend_added" || e.type === "backend_removed") names = undefined
  })
  const managedNames = () => (names ??= new Set(registry.list().flatMap((b) => (deps.lifecycleOf(b.type) ? [b.name] : []))))

  function managed(): Set<Backend> {
    const out = new Set<Backend>()
    for (const b of registry.list()) if (b.status === "healthy" && deps.lifecycleOf(b.type)) out.add(b)
    return out
  }

  /**
   * One sample of the queue on each loaded model at each managed box: its requests in
   * flight there, and every request waiting in Nexus's queue for the model. A waiter
   * waits for whichever box serving the model frees a slot first, so it counts on each.
   */
  function sample(boxes: ReadonlySet<Backend>): void {
    const seen = new Set<string>()
    for (const b of boxes) {
      for (const m of b.models.values()) {
        if (m.loaded !== true) continue
        const n = fleet.inFlight(b.id, m.id) + deps.waiting(m.id)
        if (n === 0) continue
        const k = residencyKey(b.id, m.id)
        seen.add(k)
        const q = queues.get(k) ?? { backend: b, model: m.id, depths: [] }
        q.depths.push(n)
        if (q.depths.length > GROWTH_SAMPLES) q.depths.shift()
        queues.set(k, q)
      }
    }
    // A quiet sample ends a trend.
    for (const k of queues.keys()) if (!seen.has(k)) queues.delete(k)
    for (const [k, e] of extras) if (!boxes.has(e.backend) || e.backend.models.get(e.model)?.loaded !== true) extras.delete(k)
  }

  function facts(boxes: ReadonlySet<Backend>): PlanFacts {
    const c = deps.config()
    return {
      prewarmMinutes: c.prewarm_minutes,
      idleUnloadMinutes: c.idle_unload_minutes,
      managed: boxes,
      holders: (model) => registry.backendsFor(model),
      placement: fleet.facts,
      demandModels: demand.models(),
      demand: (model, hour) => demand.expected(model, hour, clock.now()),
      loading: fleet.loadingOn,
      prewarmed: (model, slot) => prewarmedFor.get(model) === slot,
      queues: [...queues.values()],
      extras: [...extras.values()],
    }
  }

  function plan(): Action[] {
    if (!fleet.enabled()) return []
    return planFleet(facts(managed()), clock.now())
  }

  async function act(a: Action, now: number): Promise<void> {
    const b = registry.list().find((x) => x.name === a.backend)
    if (!b) return
    if (a.action === "unload") {
      await control.unload(a.model, { backend: a.backend, reason: "idle" })
      extras.delete(residencyKey(b.id, a.model))
      return
    }
    if (a.kind === "prewarm") {
      // Kept through the hour it was warmed for, where the server takes a keep-alive.
      prewarmedFor.set(a.model, hourStart(now) + HOUR_MS)
      const keepAliveMs = deps.lifecycleOf(b.type)?.keepAlive ? deps.config().prewarm_minutes * 60_000 + HOUR_MS : undefined
      await control.load(a.model, { backend: a.backend, reason: "prewarm", keepAliveMs })
      return
    }
    const from = [...queues.values()].find((q) => q.model === a.model)?.backend.name ?? "another box"
    await control.load(a.model, { backend: a.backend, reason: "migrate" })
    extras.set(residencyKey(b.id, a.model), { backend: b, model: a.model, from, lastUsed: clock.now() })
  }

  async function tick(): Promise<void> {
    timer = clock.setTimeout(tick, TICK_MS)
    if (!fleet.enabled()) return
    const boxes = managed()
    sample(boxes)
    persist()
    if (!deps.config().auto || acting) return
    const now = clock.now()
    const todo = planFleet(facts(boxes), now).filter((a) => a.action !== "keep")
    if (!todo.length) return
    acting = true
    try {
      for (const a of todo) {
        log.info(`fleet auto: ${a.action} ${a.model} on ${a.backend}: ${a.reason}`, { action: a.action, kind: a.kind, model: a.model, backend: a.backend })
        await act(a, now).catch((err: Error) => log.warn(`fleet auto: ${a.action} ${a.model} on ${a.backend} did not happen: ${err.message}`, { model: a.model, backend: a.backend }))
      }
    } finally {
      acting = false
    }
  }

  function persist(): void {
    if (!deps.store) return
    try {
      deps.store.save(demand.takeChanged())
    } catch (err) {
      log.warn(`cannot save fleet demand: ${(err as Error).message}`)
    }
  }

  return {
    /** A finished request: demand for its model now, and use of an extra copy. */
    observe(r: RequestRecord): void {
      if (r.servedModel === undefined || r.backend === undefined || !managedNames().has(r.backend) || !fleet.enabled()) return
      const t = clock.now()
      demand.record(r.servedModel, t)
      if (!extras.size) return
      for (const e of extras.values()) if (e.model === r.servedModel && e.backend.name === r.backend) e.lastUsed = t
    },
    plan,
    start(): void {
      timer ??= clock.setTimeout(tick, TICK_MS)
    },
    stop(): void {
      if (timer !== undefined) clock.clearTimeout(timer)
      timer = undefined
      persist()
    },
  }
}
