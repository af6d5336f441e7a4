/**
 * Load, unload and pin on command (admin API, CLI), and keep pinned models loaded. Nexus
 * only asks servers to load what they already have; the server type's lifecycle API
 * does the work, and a type without one gets a clear 409. One load per model and
 * backend at a time: a second command for it waits for the first.
 * @module
 */
import type { Backend, BackendType } from "../core/backend.ts"
import { NexusError } from "../core/errors.ts"
import type { Registry } from "../registry/registry.ts"
import { residencyKey, type Fleet, type LoadReason, type UnloadReason } from "./fleet.ts"
import type { Lifecycle } from "./lifecycle.ts"
import { placementOrder } from "./placement.ts"

export interface ControlDeps {
  registry: Registry
  fleet: Fleet
  /** The lifecycle API of a server type, if it has one. */
  lifecycleOf(type: BackendType): Lifecycle | undefined
  /** How long a load may take before we stop waiting, ms. */
  timeoutMs(): number
  /** The model a name resolves to (aliases, `:latest`). */
  resolve(model: string): string
  /** The gateway's clock, epoch ms: a pin's renewal compares the server's expiry with it. */
  now(): number
}

export interface LoadOptions {
  backend?: string
  keepAliveMs?: number
  reason?: LoadReason
}

export interface Outcome {
  backend: string
  model: string
  /** What happened: loaded, renewed (keep-alive), already_loaded, unloaded, not_loaded, pinned, unpinned. */
  result: string
  load_ms?: number
}

export type FleetControl = ReturnType<typeof createFleetControl>

/** A pinned model expiring within this of its window's end is left alone. */
const PIN_SLACK_MS = 60_000
const FOREVER_MS = 365 * 86_400_000

const conflict = (message: string, code: string) => new NexusError({ kind: "conflict", message, code })
const alwaysLoaded = (model: string, list: readonly Backend[]) =>
  conflict(`no backend serving ${model} has a load/unload API: ${list.map((b) => `${b.name} (${b.type})`).join(", ")} keep it always loaded`, "lifecycle_unsupported")

export function createFleetControl(deps: ControlDeps) {
  const { registry, fleet } = deps
  const running = new Map<string, Promise<Outcome>>()

  function backendNamed(name: string): Backend {
    const b = registry.list().find((x) => x.name === name || x.id === name)
    if (!b) throw new NexusError({ kind: "not_found", message: `no backend named ${JSON.stringify(name)}`, param: "backend", code: "backend_not_found" })
    return b
  }

  /** The backends listing `model` (resolved), or a 404. */
  function holders(name: string): { model: string; list: readonly Backend[] } {
    const model = deps.resolve(name)
    const list = registry.backendsFor(model)
    if (!list.length) throw new NexusError({ kind: "not_found", message: `no backend lists the model ${JSON.stringify(name)}`, param: "model", code: "model_not_found" })
    return { model, list }
  }

  function lifecycle(b: Backend): Lifecycle {
    const l = deps.lifecycleOf(b.type)
    if (!l) throw conflict(`backend ${b.name} (${b.type}) has no load/unload API: its models are always loaded`, "lifecycle_unsupported")
    return l
  }

  /** Where an unload without a backend acts: every backend with a lifecycle API that has it loaded. */
  function unloadable(model: string, list: readonly Backend[]): Backend[] {
    const managed = list.filter((b) => deps.lifecycleOf(b.type))
    if (!managed.length) throw alwaysLoaded(model, list)
    return managed.filter((b) => b.models.get(model)?.loaded !== false)
  }

  async function loadOn(b: Backend, model: string, opts: LoadOptions): Promise<Outcome> {
    const l = lifecycle(b)
    if (opts.keepAliveMs !== undefined && !l.keepAlive && opts.reason === undefined) {
      throw conflict(`backend ${b.name} (${b.type}) takes no keep-alive: load without one (its server decides when to unload)`, "keep_alive_unsupported")
    }
    if (b.models.get(model)?.loaded === true && (opts.keepAliveMs === undefined || !l.keepAlive)) return { backend: b.name, model, result: "already_loaded" }
    const k = residencyKey(b.id, model)
    const pending = running.get(k)
    if (pending) return pending
    // Loaded already (a keep-alive renewal): no load to claim or count.
    const cold = b.models.get(model)?.loaded !== true
    const release = cold ? fleet.claim(model, b.id) : () => {}
    const started = performance.now()
    const run = (async (): Promise<Outcome> => {
      const r = await l.load(b, model, { keepAliveMs: opts.keepAliveMs, timeoutMs: deps.timeoutMs() })
      if (!r.ok) {
        if (r.unsupported) throw conflict(`backend ${b.name} cannot load models: ${r.error}`, "lifecycle_unsupported")
        throw new NexusError({ kind: "upstream_failed", message: `backend ${b.name} did not load ${model}: ${r.error}`, code: "load_failed" })
      }
      const ms = Math.round(performance.now() - started)
      fleet.loaded(b, model, cold ? ms : undefined, opts.reason ?? "explicit")
      return { backend: b.name, model, result: cold ? "loaded" : "renewed", ...(cold ? { load_ms: ms } : {}) }
    })().finally(() => {
      running.delete(k)
      release()
    })
    running.set(k, run)
    return run
  }

  return {
    /** Load `name` on the named backend, or where placement puts it (nothing if loaded somewhere). */
    async load(name: string, opts: LoadOptions = {}): Promise<Outcome> {
      // A keep-alive of 0 would have the server unload at once, past unload's pin and
      // in-flight checks, and answer as if it had loaded: unloading is the unload command's job.
      if (opts.keepAliveMs === 0) {
        const message = "keep_alive: 0 would unload the model, not load it; to unload, use `nexus models unload` (POST /v1/models/{id}/unload), which refuses a model in use or pinned"
        throw new NexusError({ kind: "invalid_request", message, param: "keep_alive", code: "invalid_request" })
      }
      const { model, list } = holders(name)
      if (opts.backend !== undefined) {
        const b = backendNamed(opts.backend)
        if (!list.includes(b)) throw new NexusError({ kind: "not_found", message: `backend ${b.name} does not list the model ${model}`, param: "model", code: "model_not_found" })
        return loadOn(b, model, opts)
      }
      const managed = list.filter((b) => deps.lifecycleOf(b.type))
      const warm = managed.find((b) => b.models.get(model)?.loaded === true)
      if (warm) return opts.keepAliveMs === undefined ? { backend: warm.name, model, result: "already_loaded" } : loadOn(warm, model, opts)
      if (!managed.length) throw alwaysLoaded(model, list)
      const [first] = placementOrder(managed.map((backend) => ({ backend })), model, fleet.facts)
      return loadOn(first!.backend, model, opts)
    },

    /** Unload `name` from the named backend, or from every backend where it is loaded. */
    async unload(name: string, opts: { backend?: string; reason?: UnloadReason } = {}): Promise<Outcome[]> {
      const { model, list } = holders(name)
      const targets = opts.backend !== undefined ? [backendNamed(opts.backend)] : unloadable(model, list)
      // Refuse before touching anything: a pin or a request in flight anywhere stops it all.
      for (const b of targets) {
        lifecycle(b)
        if (fleet.isPinned(model, b.name)) throw conflict(`${model} is pinned on ${b.name}: unpin it first`, "model_pinned")
        const n = fleet.inFlight(b.id, model)
        if (n > 0) throw conflict(`${model} has ${n} request(s) in flight on ${b.name}; unload it once they finish`, "model_in_use")
      }
      const out: Outcome[] = []
      for (const b of targets) {
        if (b.models.get(model)?.loaded === false) {
          out.push({ backend: b.name, model, result: "not_loaded" })
          continue
        }
        const r = await lifecycle(b).unload(b, model, { timeoutMs: deps.timeoutMs() })
        if (!r.ok) {
          if (r.unsupported) throw conflict(`backend ${b.name} cannot unload models: ${r.error}`, "lifecycle_unsupported")
          throw new NexusError({ kind: "upstream_failed", message: `backend ${b.name} did not unload ${model}: ${r.error}`, code: "unload_failed" })
        }
        fleet.unloaded(b, model, opts.reason)
        out.push({ backend: b.name, model, result: "unloaded" })
      }
      return out
    },

    /** Keep `name` loaded on the backend from now on (and load it now). */
    async pin(name: string, backendName: string): Promise<Outcome> {
      if (!fleet.enabled()) throw conflict("pins need fleet management, which is off: set [fleet] enabled = true", "fleet_disabled")
      const { model } = holders(name)
      const b = backendNamed(backendName)
      lifecycle(b)
      fleet.pin(model, b.name)
      const loaded = await loadOn(b, model, { keepAliveMs: -1, reason: "pin" })
      return { ...loaded, result: "pinned" }
    },

    unpin(name: string, backendName: string): Outcome {
      const model = deps.resolve(name)
      const b = backendNamed(backendName)
      if (!fleet.unpin(model, b.name)) throw new NexusError({ kind: "not_found", message: `${model} is not pinned on ${b.name} at run time (pins in the file stay until it changes)`, code: "pin_not_found" })
      return { backend: b.name, model, result: "unpinned" }
    },

    /** A probe told us what `b` has loaded: load what is pinned there and missing. */
    enforcePins(b: Backend): void {
      const pins = fleet.pins()
      if (!pins.length || !deps.lifecycleOf(b.type)) return
      for (const p of pins) {
        const info = b.models.get(p.model)
        if (p.backend !== b.name || !info) continue
        const keep = fleet.pinnedFor(p.model, b.name)
        if (keep === undefined) continue
        // Loaded, but due to expire before the pin ends (a request reset its keep-alive): renew it.
        // (Held "forever", Ollama reports an expiry centuries away.)
        const wanted = deps.now() + (keep < 0 ? FOREVER_MS : keep - PIN_SLACK_MS)
        const renew = info.loaded === true && info.expiresAt !== undefined && info.expiresAt < wanted
        if (info.loaded === false || renew) loadOn(b, p.model, { keepAliveMs: keep, reason: "pin" }).catch(() => {})
      }
    },
  }
}
