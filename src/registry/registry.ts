/**
 * The one registry of backends and their models, and the only writer of them: every
 * change goes through a method here and is announced as a typed event. Routing reads
 * it on every request, so lookups by model are O(1) through an index kept in step.
 * @module
 */
import { atCapacity, type Backend, type BackendInit, type BackendRecord, type BackendSettings, type BackendStatus, type ModelInfo } from "../core/backend.ts"
import type { Dialect } from "../core/request.ts"
import { createEventBus, type Listener, type ListenerFault, type RegistryEvent } from "../core/events.ts"
import { serverKey } from "./server-key.ts"
import { modelKey } from "../core/model-name.ts"
import { allowedBy } from "../core/glob.ts"

export type Registry = ReturnType<typeof createRegistry>

/** What one finished attempt teaches us about its backend. */
export interface AttemptSettlement {
  /** Count it as an error of this backend. */
  failed: boolean
  /** A sample for the error-rate average (undefined: the attempt says nothing, e.g. the client left). */
  errorSample?: boolean
  /** Time to first byte or token on a real request, for the latency average. */
  latencyMs?: number
}

const EWMA_ALPHA = 0.2

function ewma(prev: number | undefined, sample: number): number {
  return prev === undefined ? sample : prev + EWMA_ALPHA * (sample - prev)
}

/** `onFault`: told when a subscriber to the registry's events throws. */
export function createRegistry(onFault?: ListenerFault) {
  const backends = new Map<string, BackendRecord>()
  /** model id -> backends listing it, in registration order. */
  const index = new Map<string, BackendRecord[]>()
  const bus = createEventBus<RegistryEvent>(onFault)
  /** modelKey -> a listed id, for names spelled in another case; rebuilt after a change, when asked. */
  let byKey: Map<string, string> | undefined

  function unindex(backend: BackendRecord): void {
    byKey = undefined
    for (const id of backend.models.keys()) {
      const list = index.get(id)
      if (!list) continue
      const rest = list.filter((b) => b !== backend)
      if (rest.length) index.set(id, rest)
      else index.delete(id)
    }
  }

  function reindex(backend: BackendRecord): void {
    byKey = undefined
    for (const id of backend.models.keys()) {
      const list = index.get(id)
      if (list) list.push(backend)
      else index.set(id, [backend])
    }
  }

  function replaceModels(backend: BackendRecord, models: ModelInfo[]): void {
    const next = new Map(models.map((m) => [m.id, m]))
    const same = next.size === backend.models.size && [...next.keys()].every((k) => backend.models.has(k))
    unindex(backend)
    backend.models = next
    reindex(backend)
    bus.emit({ type: "models_changed", backend, idsChanged: !same })
  }

  /** The lowest tier of any backend (kept in step, read on every request by the tier stage). */
  let lowestTier = Number.POSITIVE_INFINITY
  const retier = () => {
    lowestTier = Number.POSITIVE_INFINITY
    for (const b of backends.values()) if (b.tier < lowestTier) lowestTier = b.tier
  }

  /** The record behind a backend someone holds, even if it was removed meanwhile. */
  const record = (b: Backend) => b as BackendRecord

  return {
    add(init: BackendInit): Backend {
      if (backends.has(init.id)) throw new Error(`backend "${init.id}" already exists`)
      const backend: BackendRecord = {
        ...init,
        url: init.url.replace(/\/+$/, ""),
        status: "unknown",
        models: new Map(),
        stats: { inFlight: 0, requests: 0, errors: 0, errorRate: 0 },
      }
      backends.set(backend.id, backend)
      retier()
      bus.emit({ type: "backend_added", backend })
      return backend
    },

    /** Out of rotation and the index; requests in flight on it finish normally. */
    remove(id: string): Backend | undefined {
      const backend = backends.get(id)
      if (!backend) return undefined
      unindex(backend)
      backends.delete(id)
      retier()
      bus.emit({ type: "backend_removed", backend })
      return backend
    },

    get(id: string): Backend | undefined {
      return backends.get(id)
    },

    /** The backend at this server address (loopback spellings and default ports count as one). */
    findByUrl(url: string): Backend | undefined {
      const want = serverKey(url)
      for (const b of backends.values()) if (serverKey(b.url) === want) return b
      return undefined
    },

    list(): Backend[] {
      return [...backends.values()]
    },

    setStatus(id: string, status: BackendStatus, error?: string): void {
      const backend = backends.get(id)
      if (!backend) return
      if (backend.status === status) {
        if (backend.lastError === error) return
        backend.lastError = error
        return bus.emit({ type: "error_changed", backend })
      }
      backend.lastError = error
      const from = backend.status
      backend.status = status
      // Back from being down: it may be a newer server that has the routes it lacked.
      if (status === "healthy" && from === "unhealthy") backend.lacksNative = undefined
      bus.emit({ type: "status_changed", backend, from, to: status })
    },

    /** Replace a backend's model list; the index follows. */
    setModels(id: string, models: ModelInfo[]): void {
      const backend = backends.get(id)
      if (backend) replaceModels(backend, models)
    },

    /** One model was loaded or unloaded (a load we asked for, or a request that warmed it). */
    setModelLoaded(id: string, model: string, loaded: boolean): void {
      const backend = backends.get(id)
      const info = backend?.models.get(model)
      if (!backend || !info || info.loaded === loaded) return
      backend.models.set(model, { ...info, loaded, ...(loaded ? {} : { vramBytes: undefined, expiresAt: undefined }) })
      bus.emit({ type: "models_changed", backend, idsChanged: false })
    },

    /**
     * Apply reloaded settings in place (the backend keeps its counters, and the models its
     * `allowModels` still allows: a narrower list holds from now, not from the next probe).
     */
    updateSettings(id: string, settings: BackendSettings): void {
      const backend = backends.get(id)
      if (!backend) return
      Object.assign(backend, settings)
      const kept = [...backend.models.values()].filter((m) => allowedBy(backend.allowModels, m.id))
      if (kept.length < backend.models.size) replaceModels(backend, kept)
      retier()
      bus.emit({ type: "settings_changed", backend })
    },

    setWithdrawn(id: string, withdrawn: boolean): void {
      const backend = backends.get(id)
      if (!backend || (backend.withdrawn ?? false) === withdrawn) return
      backend.withdrawn = withdrawn
      bus.emit({ type: "withdrawn_changed", backend })
    },

    /** The backend's server lacks this client dialect's own route: translate from now on. */
    setLacksNative(b: Backend, dialect: Dialect): void {
      const backend = record(b)
      if (backend.lacksNative?.has(dialect)) return
      ;(backend.lacksNative ??= new Set()).add(dialect)
      bus.emit({ type: "native_refused", backend, dialect })
    },

    /** A health probe finished: when, and how long the server took (an average). */
    recordProbe(id: string, at: number, latencyMs?: number): void {
      const backend = backends.get(id)
      if (!backend) return
      backend.lastCheck = at
      if (latencyMs !== undefined) backend.stats.probeLatencyMs = ewma(backend.stats.probeLatencyMs, latencyMs)
      bus.emit({ type: "probed", backend })
    },

    /**
     * Take an in-flight slot on `b` unless it is at `max_concurrent`. Check and take are
     * one step, so no two requests can both see the last free slot.
     */
    tryAcquire(b: Backend): boolean {
      const backend = record(b)
      if (atCapacity(backend)) return false
      backend.stats.inFlight++
      backend.stats.requests++
      bus.emit({ type: "load_changed", backend, released: false })
      return true
    },

    /** Give a slot back, with what the attempt taught us. Exactly once per acquired slot. */
    release(b: Backend, s: AttemptSettlement): void {
      const backend = record(b)
      const stats = backend.stats
      stats.inFlight--
      if (s.failed) stats.errors++
      if (s.errorSample !== undefined) stats.errorRate += EWMA_ALPHA * ((s.errorSample ? 1 : 0) - stats.errorRate)
      if (s.latencyMs !== undefined) stats.ttftEwmaMs = ewma(stats.ttftEwmaMs, s.latencyMs)
      bus.emit({ type: "load_changed", backend, released: true })
    },

    /** Every backend that lists this model, whatever its health. */
    backendsFor(model: string): readonly Backend[] {
      return index.get(model) ?? []
    },

    /**
     * The id a backend lists for `model` spelled in another case or with another `:latest`
     * (`LLAMA3` for `llama3:latest`); undefined when none does. The slow path of resolving
     * a name: exact spellings never get here.
     */
    listedAs(model: string): string | undefined {
      if (!byKey) {
        byKey = new Map()
        // Registration order: the first listing of a key wins, the same on every call.
        for (const id of index.keys()) if (!byKey.has(modelKey(id))) byKey.set(modelKey(id), id)
      }
      return byKey.get(modelKey(model))
    },

    /** The lowest tier among all backends (Infinity when there are none). */
    lowestTier(): number {
      return lowestTier
    },

    /** Every model id any backend lists. */
    modelIds(): string[] {
      return [...index.keys()]
    },

    on(listener: Listener<RegistryEvent>): () => void {
      return bus.on(listener)
    },
  }
}
