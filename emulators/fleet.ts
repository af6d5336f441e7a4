/**
 * Model residency as the servers that manage it behave: a model loads on first use (or
 * on an explicit load) in time proportional to its size, a box holds what fits in its
 * memory and at most `maxLoaded` models (Ollama's OLLAMA_MAX_LOADED_MODELS, llama.cpp's
 * --models-max), the least recently used idle model is evicted to make room, and an idle
 * model expires after its keep-alive. Off unless an emulator is given `fleet` options.
 */
import type { EmulatorModel, EmulatorState } from "./types.ts"

export interface FleetSimOptions {
  /** Memory for models, bytes (default: unlimited). */
  memoryBytes?: number
  /** Most models loaded at once (default: unlimited). */
  maxLoaded?: number
  /** Load time per GiB of model, ms (default 0). */
  loadMsPerGb?: number
  /** How long an idle model stays loaded, ms (default: forever). */
  keepAliveMs?: number
  /** The clock expiry reads (tests move it), ms. */
  now?: () => number
  /**
   * How a load's time passes (default: real time). A run on an accelerated clock passes
   * its own, so a load takes as long on that clock as `now` says it did.
   */
  sleep?: (ms: number) => Promise<void>
}

/** A model's default size when its entry names none: 2 GiB. */
const DEFAULT_MODEL_BYTES = 2 * 1024 ** 3
const GIB = 1024 ** 3

interface Resident {
  lastUsed: number
  /** Undefined: never expires. */
  expiresAt?: number
  /** How long it stays loaded once idle (undefined or < 0: forever). */
  keepAliveMs?: number
  inUse: number
}

export interface FleetSim {
  /** Completed loads per model over the server's life. */
  loads: Record<string, number>
  /** Of those, the loads a request waited for (the rest were asked for and done before any came). */
  coldLoads: Record<string, number>
  /** Requests that found their model not loaded and waited for a load. */
  waitedRequests: number
  evictions: string[]
  /** Loaded models, with when each expires. */
  resident(): { model: EmulatorModel; expiresAt?: number; bytes: number }[]
  isLoading(id: string): boolean
  /**
   * Load (or keep) a model; resolves when it is loaded. `keepAliveMs` < 0: forever.
   * `request`: a request that will work on it (not a load asked for by the API).
   */
  ensure(id: string, keepAliveMs?: number, request?: boolean): Promise<void>
  /** Hold a model in use until `release` (a request working on it). */
  hold(id: string): () => void
  /** Unload now, or once its last request ends. */
  unload(id: string): boolean
  bytesOf(id: string): number
}

export function createFleetSim(state: EmulatorState, opts: FleetSimOptions): FleetSim {
  const now = opts.now ?? Date.now
  const sleep = opts.sleep ?? Bun.sleep
  const residents = new Map<string, Resident>()
  const loading = new Map<string, Promise<void>>()
  /** Loads in progress that a request is waiting for. */
  const waitedOn = new Set<string>()
  const loads: Record<string, number> = {}
  const coldLoads: Record<string, number> = {}
  const evictions: string[] = []
  const model = (id: string) => state.models.find((m) => m.id === id)
  const bytesOf = (id: string) => model(id)?.sizeBytes ?? DEFAULT_MODEL_BYTES
  const expiry = (keepAliveMs: number | undefined) => (keepAliveMs === undefined || keepAliveMs < 0 ? undefined : now() + keepAliveMs)
  const newResident = (): Resident => ({ lastUsed: now(), expiresAt: expiry(opts.keepAliveMs), keepAliveMs: opts.keepAliveMs, inUse: 0 })

  // What the model list says is loaded at start is resident.
  for (const m of state.models) {
    if (m.loaded !== false) residents.set(m.id, newResident())
    state.loaded.set(m.id, m.loaded !== false)
  }

  function drop(id: string): void {
    residents.delete(id)
    state.loaded.set(id, false)
  }

  function sweep(): void {
    const t = now()
    for (const [id, r] of residents) if (r.inUse === 0 && r.expiresAt !== undefined && r.expiresAt <= t) drop(id)
  }

  function used(): number {
    let sum = 0
    for (const id of residents.keys()) sum += bytesOf(id)
    return sum
  }

  /** Evict idle models, least recently used first, until `id` fits (as far as it can). */
  function makeRoom(id: string): void {
    const fits = () =>
      (opts.memoryBytes === undefined || used() + bytesOf(id) <= opts.memoryBytes) &&
      (opts.maxLoaded === undefined || residents.size < opts.maxLoaded)
    while (!fits()) {
      let victim: string | undefined
      for (const [rid, r] of residents) if (r.inUse === 0 && (!victim || r.lastUsed < residents.get(victim)!.lastUsed)) victim = rid
      if (!victim) return // everything is busy: the server loads anyway and shares memory
      drop(victim)
      evictions.push(victim)
    }
  }

  async function load(id: string): Promise<void> {
    makeRoom(id)
    const ms = ((opts.loadMsPerGb ?? 0) * bytesOf(id)) / GIB
    if (ms > 0) await sleep(ms)
    residents.set(id, newResident())
    state.loaded.set(id, true)
    loads[id] = (loads[id] ?? 0) + 1
    if (waitedOn.delete(id)) coldLoads[id] = (coldLoads[id] ?? 0) + 1
  }

  const sim: FleetSim = {
    loads,
    coldLoads,
    waitedRequests: 0,
    evictions,
    bytesOf,
    resident() {
      sweep()
      return [...residents].flatMap(([id, r]) => {
        const m = model(id)
        return m ? [{ model: m, expiresAt: r.expiresAt, bytes: bytesOf(id) }] : []
      })
    },
    isLoading: (id) => loading.has(id),
    async ensure(id, keepAliveMs, request) {
      sweep()
      let r = residents.get(id)
      if (!r) {
        if (request) {
          sim.waitedRequests++
          waitedOn.add(id)
        }
        // Concurrent requests for a model being loaded wait for that one load.
        let pending = loading.get(id)
        if (!pending) {
          pending = load(id).finally(() => loading.delete(id))
          loading.set(id, pending)
        }
        await pending
        r = residents.get(id)
        if (!r) return
      }
      r.lastUsed = now()
      // A keep-alive given replaces the model's; without one it keeps what it was loaded
      // with (Ollama since 0.2: a default only applies to the first load).
      if (keepAliveMs !== undefined) r.keepAliveMs = keepAliveMs
      if (keepAliveMs !== undefined || r.inUse === 0) r.expiresAt = expiry(r.keepAliveMs)
    },
    hold(id) {
      const r = residents.get(id)
      if (!r) return () => {}
      r.inUse++
      let done = false
      return () => {
        if (done) return
        done = true
        r.inUse--
        r.lastUsed = now()
        // The keep-alive counts from the end of the last request.
        if (r.inUse === 0) r.expiresAt = expiry(r.keepAliveMs)
      }
    },
    unload(id) {
      const r = residents.get(id)
      if (!r) return false
      if (r.inUse === 0) drop(id)
      else {
        r.keepAliveMs = 0
        r.expiresAt = now()
      }
      return true
    },
  }
  return sim
}

/** Ollama's `keep_alive`: seconds, a duration string ("5m", "1h30m"), negative for forever. */
export function keepAliveMs(value: unknown): number | undefined {
  if (typeof value === "number") return value < 0 ? -1 : value * 1000
  if (typeof value !== "string") return undefined
  if (/^-/.test(value)) return -1
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000
  let total = 0
  let matched = false
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    matched = true
    const n = Number(m[1])
    total += m[2] === "h" ? n * 3_600_000 : m[2] === "m" ? n * 60_000 : m[2] === "s" ? n * 1000 : n
  }
  return matched ? total : undefined
}

/** Keep `id` in use while the request behind `track` runs (until done or aborted). */
export function holdWhile(sim: FleetSim, id: string, track: { done(): void; signal: AbortSignal }): void {
  const release = sim.hold(id)
  const done = track.done.bind(track)
  track.done = () => {
    release()
    done()
  }
  track.signal.addEventListener("abort", release, { once: true })
}
