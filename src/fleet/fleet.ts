/**
 * What Nexus knows and decides about model residency across the fleet: which requests
 * work on which model where, the load in progress for each cold model (so concurrent
 * requests wait for that one load instead of starting others), each model's learned
 * cold-load time per box, and the pins. Backends whose models are always loaded (no
 * lifecycle: vLLM, a plain llama.cpp server) never reach anything here but one check.
 * @module
 */
import type { Backend } from "../core/backend.ts"
import { createEventBus, type Listener } from "../core/events.ts"
import type { FleetConfig, PinConfig } from "../config/types.ts"
import type { Registry } from "../registry/registry.ts"
import { isPinned, pinActive, pinRemainingMs } from "./pins.ts"
import { evictionBlock, placementOrder, type PlacementFacts } from "./placement.ts"

export type LoadReason = "request" | "explicit" | "pin" | "prewarm" | "migrate"
export type UnloadReason = "explicit" | "idle"

/** A model finished loading on a backend. */
export interface LoadEvent {
  backend: string
  model: string
  reason: LoadReason
  ms: number
}

/** A model was unloaded from a backend on our request. */
export interface UnloadEvent {
  backend: string
  model: string
  reason: UnloadReason
}

/** A load as the fleet remembers it: when it finished, epoch ms. */
export type RecentLoad = LoadEvent & { at: number }

/** One attempt on a model whose residency we track. */
export interface FleetAttempt {
  /** The server answered with a success status after `ms`: the model is loaded now. */
  answered(ms: number): void
  /** The attempt is over (exactly once, whatever happened). */
  settle(): void
}

export type Fleet = ReturnType<typeof createFleet>

/** Why a candidate was left out for a cold model: `capacity` when waiting can help. */
export interface ColdExclusion {
  backend: string
  model: string
  kind: "capacity" | "placement"
  reason: string
}

/** Where the router collects its exclusions. */
export interface ExclusionSink {
  push(e: ColdExclusion): unknown
}

/**
 * Boxes holding the model before the cold ones, each group in the router's order (the same
 * array when already so); always-loaded servers (loaded unknown) keep their place.
 */
function warmFirst<T extends { backend: Backend }>(model: string, candidates: T[]): T[] {
  const warm = (c: T) => c.backend.models.get(model)?.loaded === true
  const cold = (c: T) => c.backend.models.get(model)?.loaded === false
  const firstCold = candidates.findIndex(cold)
  if (firstCold < 0 || !candidates.slice(firstCold).some(warm)) return candidates
  return [...candidates.slice(0, firstCold), ...candidates.slice(firstCold).filter(warm), ...candidates.slice(firstCold).filter((c) => !warm(c))]
}

/** The candidates `why` lets through (the same array when it lets all through), the rest excluded with its reason. */
function keep<T extends { backend: Backend }>(
  model: string,
  candidates: T[],
  excluded: ExclusionSink,
  why: (b: Backend) => Pick<ColdExclusion, "kind" | "reason"> | undefined
): T[] {
  let out: T[] | undefined
  for (let i = 0; i < candidates.length; i++) {
    const b = candidates[i]!.backend
    const no = b.models.get(model)?.loaded === false ? why(b) : undefined
    if (no) {
      out ??= candidates.slice(0, i)
      excluded.push({ backend: b.name, model, ...no })
    } else out?.push(candidates[i]!)
  }
  return out ?? candidates
}

const EWMA_ALPHA = 0.3
/** A claimed load nobody confirmed is forgotten after this long (its request died quietly). */
const CLAIM_MS = 10 * 60_000
/** Loads remembered for operators (dashboard, `nexus fleet`), newest last. */
const RECENT_LOADS = 20
/** One model on one backend, as a map key. */
export const residencyKey = (backendId: string, model: string) => `${backendId}\u0000${model}`

export interface FleetOptions {
  config(): FleetConfig
  /** The gateway's clock, which pins, load claims and recent loads read. */
  now?: () => Date
  /** The model a name resolves to, as the router resolves requests (aliases, `:latest`, case). */
  resolve?: (model: string) => string
}

export function createFleet(registry: Registry, opts: FleetOptions) {
  const now = opts.now ?? (() => new Date())
  const inUse = new Map<string, number>()
  const learned = new Map<string, number>()
  /** model -> the backend a load of it is under way on. */
  const claims = new Map<string, { backendId: string; until: number }>()
  const runtimePins: PinConfig[] = []
  const loads = createEventBus<RecentLoad>()
  const unloads = createEventBus<UnloadEvent>()
  const on = () => opts.config().enabled
  const counts = { warm: 0, cold: 0 }
  const recent: RecentLoad[] = []
  /** Models (per backend) requests wait to load, not yet counted as loaded. */
  const awaited = new Set<string>()
  loads.on((e) => {
    recent.push(e)
    if (recent.length > RECENT_LOADS) recent.shift()
  })
  const loadDone = (e: LoadEvent) => loads.emit({ ...e, at: now().getTime() })

  // Whether any backend has a model known not to be loaded, recomputed after a change.
  let cold = false
  let coldKnown = false
  // The pins in force, their models resolved as requests' are; recomputed after the
  // file's pins, a runtime pin or the models listed change, never per request.
  let pinCache: { from: readonly PinConfig[]; list: readonly PinConfig[] } | undefined
  registry.on((e) => {
    if (e.type === "models_changed" || e.type === "backend_removed" || e.type === "backend_added") {
      coldKnown = false
      pinCache = undefined
    }
  })

  function resolvePins(from: readonly PinConfig[]): readonly PinConfig[] {
    const resolve = opts.resolve
    const file = resolve ? from.map((p) => ({ ...p, model: resolve(p.model) })) : from
    // Runtime pins come resolved (control.ts resolves the name it is given).
    return runtimePins.length ? [...file, ...runtimePins] : file
  }

  // Fleet management off: no pins either.
  const NO_PINS: readonly PinConfig[] = []
  function pins(): readonly PinConfig[] {
    if (!on()) return NO_PINS
    const from = opts.config().pins
    if (pinCache?.from !== from) pinCache = { from, list: resolvePins(from) }
    return pinCache.list
  }
  const facts: PlacementFacts = {
    inUse: (b, m) => inUse.get(residencyKey(b, m)) ?? 0,
    pinned: (m, b) => isPinned(pins(), m, b, now()),
    loadMs: (b, m) => learned.get(residencyKey(b, m)),
  }

  function learn(backendId: string, model: string, ms: number): void {
    const k = residencyKey(backendId, model)
    const prev = learned.get(k)
    learned.set(k, prev === undefined ? ms : prev + EWMA_ALPHA * (ms - prev))
  }

  /** Claim the load of `model` on `backendId`; the returned function gives the claim up if still held. */
  function claim(model: string, backendId: string): () => void {
    claims.set(model, { backendId, until: now().getTime() + CLAIM_MS })
    return () => {
      if (claims.get(model)?.backendId === backendId) claims.delete(model)
    }
  }

  function claimed(model: string): string | undefined {
    const c = claims.get(model)
    if (!c) return undefined
    if (c.until > now().getTime()) return c.backendId
    claims.delete(model)
    return undefined
  }

  function anyCold(): boolean {
    if (!on()) return false
    if (coldKnown) return cold
    cold = registry.list().some((b) => [...b.models.values()].some((m) => m.loaded === false))
    coldKnown = true
    return cold
  }

  /** Live claims: model -> the backend id its load is under way on. */
  function loadingNow(): Map<string, string> {
    const out = new Map<string, string>()
    for (const model of [...claims.keys()]) {
      const id = claimed(model)
      if (id !== undefined) out.set(model, id)
    }
    return out
  }

  return {
    facts,
    pins,
    /** Some model somewhere is known to be cold (fleets of always-loaded servers: never). */
    anyCold,
    /** Loads as they complete, stamped with the gateway's clock (metrics subscribe). */
    onLoad(listener: Listener<RecentLoad>): () => void {
      return loads.on(listener)
    },
    onUnload(listener: Listener<UnloadEvent>): () => void {
      return unloads.on(listener)
    },
    /** Whether fleet management is on (`[fleet] enabled`). */
    enabled: on,
    /** The backend id a load of `model` is under way on. */
    loadingOn: claimed,
    loadingNow,
    /** Requests that found their model loaded, and that had to wait for a load. */
    counts,
    /** The last loads, oldest first. */
    recentLoads: (): readonly RecentLoad[] => recent,

    /**
     * Shape the router's candidates for a model cold on some of them. A box that holds or
     * is loading the model but is full makes the request wait for a slot there (no second
     * load elsewhere). A cold box where loading would evict a pinned model or one in use
     * is left out, with why. Loaded on some: those before the cold ones. Cold everywhere:
     * the box already loading it first, else in placement order (the slot taken there
     * claims the load: `placed`). `full`: the boxes left out only for being at capacity.
     */
    order<T extends { backend: Backend }>(model: string, candidates: T[], full: readonly Backend[] | undefined, excluded: ExclusionSink): T[] {
      if (!anyCold()) return candidates
      let cold = 0
      for (const c of candidates) if (c.backend.models.get(model)?.loaded === false) cold++
      if (cold === 0) return candidates
      const loading = claimed(model)
      const serving = full?.find((b) => b.id === loading || b.models.get(model)?.loaded === true)
      if (serving) {
        const where = serving.id === loading ? "loading" : "loaded"
        return keep(model, candidates, excluded, () => ({ kind: "capacity", reason: `waiting for a slot on ${serving.name}, where ${model} is ${where}` }))
      }
      const allowed = keep(model, candidates, excluded, (b) => {
        if (b.id === loading) return undefined
        const block = evictionBlock(b, model, facts)
        return block && { kind: block.waitable ? "capacity" : "placement", reason: block.reason }
      })
      // Loaded on a box with room: a box where it is cold is only a failover behind it (a second copy is auto's call).
      if (cold < candidates.length) return warmFirst(model, allowed)
      if (!allowed.length) return allowed
      const i = loading === undefined ? -1 : allowed.findIndex((c) => c.backend.id === loading)
      if (i > 0) return [allowed[i]!, ...allowed.slice(0, i), ...allowed.slice(i + 1)]
      if (i === 0) return allowed
      return placementOrder(allowed, model, facts)
    },

    /**
     * A request took a slot on `backend` for `model`: where the model is cold, its load is
     * claimed at once (in the same step as the slot), so requests planned before the attempt
     * starts follow it. A plan alone (a dry run of the route) claims nothing.
     */
    placed(backend: Backend, model: string): void {
      if (anyCold() && backend.models.get(model)?.loaded === false) claim(model, backend.id)
    },

    /** An attempt starts on `model` at `backend`: undefined when its models are always loaded. */
    attempt(backend: Backend, model: string): FleetAttempt | undefined {
      const loaded = backend.models.get(model)?.loaded
      if (loaded === undefined) return undefined
      const k = residencyKey(backend.id, model)
      // Counted even with fleet management off: an unload on command must still see it.
      inUse.set(k, (inUse.get(k) ?? 0) + 1)
      const managed = on()
      const cold = managed && loaded === false
      if (cold) {
        counts.cold++
        awaited.add(k)
      } else if (managed) counts.warm++
      // While a request waits for the load here, requests for the model follow it (the
      // box looks busy now, and placement alone would send them elsewhere).
      const unclaim = cold ? claim(model, backend.id) : () => {}
      let done = false
      return {
        answered(ms) {
          if (!cold) return
          unclaim()
          // Requests that waited for the same load answer too: the first one counts it. (A
          // probe may have seen it loaded already: the server answers after the prompt.)
          if (!awaited.delete(k)) return
          learn(backend.id, model, ms)
          registry.setModelLoaded(backend.id, model, true)
          loadDone({ backend: backend.name, model, reason: "request", ms })
        },
        settle() {
          if (done) return
          done = true
          const n = (inUse.get(k) ?? 1) - 1
          if (n > 0) inUse.set(k, n)
          else inUse.delete(k)
          // The last of the requests waiting for this load gives up the claim.
          if (cold && n <= 0) {
            unclaim()
            awaited.delete(k)
          }
        },
      }
    },

    /** Requests in flight on `model` at `backend`. */
    inFlight: facts.inUse,
    /** The learned cold-load time of `model` on `backend`, ms. */
    loadMs: facts.loadMs,

    /** A load we asked for finished (or an unload did). */
    loaded(backend: Backend, model: string, ms: number | undefined, reason: LoadReason): void {
      registry.setModelLoaded(backend.id, model, true)
      // Requests waiting for it waited for this load: it is counted here, not again by them.
      awaited.delete(residencyKey(backend.id, model))
      if (ms === undefined) return
      learn(backend.id, model, ms)
      loadDone({ backend: backend.name, model, reason, ms })
    },
    unloaded(backend: Backend, model: string, reason: UnloadReason = "explicit"): void {
      registry.setModelLoaded(backend.id, model, false)
      unloads.emit({ backend: backend.name, model, reason })
    },

    /** Claim the load of `model` on `backendId` (explicit loads: requests then follow it). */
    claim,
    isPinned: facts.pinned,

    /** How long the pin holding `model` there has left (-1: no end), or undefined when none does. */
    pinnedFor(model: string, backendName: string): number | undefined {
      const t = now()
      let longest: number | undefined
      for (const p of pins()) {
        if (p.model !== model || p.backend !== backendName || !pinActive(p, t)) continue
        const ms = pinRemainingMs(p, t)
        // A pin without a window holds until unpinned, whatever the others say.
        if (ms < 0) return -1
        longest = Math.max(longest ?? 0, ms)
      }
      return longest
    },

    /** Pin at run time (no window: always). */
    pin(model: string, backendName: string): void {
      if (!runtimePins.some((p) => p.model === model && p.backend === backendName)) runtimePins.push({ model, backend: backendName })
      pinCache = undefined
    },

    unpin(model: string, backendName: string): boolean {
      const i = runtimePins.findIndex((p) => p.model === model && p.backend === backendName)
      if (i < 0) return false
      runtimePins.splice(i, 1)
      pinCache = undefined
      return true
    },
  }
}

/**
 * The first-byte allowance for a cold model: its learned load time plus a margin (half
 * again, and the warm allowance on top), or the configured cold allowance until one is known.
 */
export function coldAllowanceMs(learnedMs: number | undefined, warmMs: number, coldMs: number): number {
  return learnedMs === undefined ? coldMs : Math.ceil(learnedMs * 1.5) + warmMs
}
