/**
 * The health checker: probes every backend concurrently each interval, applies the
 * failure/recovery thresholds, and refreshes model lists on success. A probe that
 * says "loading" (llama.cpp's 503 while it loads) is not a failure.
 * @module
 */
import { allowedBy } from "../core/glob.ts"
import { isCloud } from "../core/backend.ts"

const CLOUD_PROBE_MS = 5 * 60_000
const CLOUD_RETRY_MS = 60_000
import { providerFor } from "../egress/providers/index.ts"
import type { ModelOverride, HealthCheckConfig } from "../config/types.ts"
import type { Registry } from "../registry/registry.ts"
import type { Backend, BackendStatus, ModelInfo } from "../core/backend.ts"

interface Track {
  failures: number
  successes: number
  cache: Map<string, unknown>
}

export type HealthChecker = ReturnType<typeof createHealthChecker>

/** Apply `[[backends.models]]` overrides: config beats what the server says. */
export function applyOverrides(models: ModelInfo[], overrides: ModelOverride[]): ModelInfo[] {
  if (!overrides.length) return models
  const byName = new Map(overrides.map((o) => [o.name, o]))
  return models.map((m) => {
    const o = byName.get(m.id)
    if (!o) return m
    const caps = { ...m.capabilities }
    if (o.vision !== undefined) caps.vision = o.vision
    if (o.tools !== undefined) caps.tools = o.tools
    if (o.json_mode !== undefined) caps.json_mode = o.json_mode
    if (o.embeddings !== undefined) caps.embeddings = o.embeddings
    return { ...m, contextLength: o.context_length ?? m.contextLength, capabilities: caps }
  })
}

/** The next status given the current one, a probe verdict and the streak counters. */
export function nextStatus(
  current: BackendStatus,
  verdict: "healthy" | "loading" | "unhealthy",
  track: Pick<Track, "failures" | "successes">,
  cfg: Pick<HealthCheckConfig, "failure_threshold" | "recovery_threshold">
): BackendStatus {
  if (current === "draining") return current // an operator's decision, not the prober's
  if (verdict === "loading") return "loading"
  if (verdict === "healthy") {
    if (current === "unhealthy") return track.successes >= cfg.recovery_threshold ? "healthy" : current
    return "healthy"
  }
  if (current === "healthy") return track.failures >= cfg.failure_threshold ? "unhealthy" : current
  return "unhealthy"
}

export function createHealthChecker(opts: {
  registry: Registry
  config: () => HealthCheckConfig
  overrides: (backend: Backend) => ModelOverride[]
}) {
  const tracks = new Map<string, Track>()
  let timer: Timer | undefined
  let running: Promise<void> | undefined

  function trackOf(id: string): Track {
    let t = tracks.get(id)
    if (!t) {
      t = { failures: 0, successes: 0, cache: new Map() }
      tracks.set(id, t)
    }
    return t
  }

  async function checkOne(backend: Backend): Promise<void> {
    const cfg = opts.config()
    const track = trackOf(backend.id)
    const started = performance.now()
    const result = await providerFor(backend.type)
      .probe(backend, { timeoutMs: cfg.timeout_seconds * 1000, cache: track.cache })
      .catch((err: Error) => ({ status: "unhealthy" as const, error: err.message, models: undefined }))
    // The backend may have been removed while we waited, or withdrawn (an mDNS goodbye):
    // a result from before the goodbye must not put it back in rotation.
    if (opts.registry.get(backend.id) !== backend || backend.withdrawn) return
    const healthy = result.status === "healthy"
    opts.registry.recordProbe(backend.id, Date.now(), healthy ? performance.now() - started : undefined)
    if (healthy) {
      track.successes++
      track.failures = 0
    } else if (result.status === "unhealthy") {
      track.failures++
      track.successes = 0
    } else {
      track.failures = 0
      track.successes = 0
    }
    if (result.models) {
      // A cloud account lists hundreds of models: keep only the allowed ones.
      const allowed = result.models.filter((m) => allowedBy(backend.allowModels, m.id))
      opts.registry.setModels(backend.id, applyOverrides(allowed, opts.overrides(backend)))
    }
    const status = nextStatus(backend.status, result.status, track, cfg)
    opts.registry.setStatus(backend.id, status, result.status === "healthy" ? undefined : result.error)
  }

  /**
   * Cloud APIs are asked gently: their model list every few minutes (a minute while
   * they are failing), not every health interval; they meter and rate-limit calls.
   */
  function due(b: Backend): boolean {
    if (!isCloud(b) || b.lastCheck === undefined) return true
    const every = b.status === "healthy" ? CLOUD_PROBE_MS : CLOUD_RETRY_MS
    return Date.now() - b.lastCheck >= every - 1000
  }

  /** Probe every backend once, concurrently. Concurrent calls share one round. */
  function checkAll(): Promise<void> {
    // A withdrawn mDNS service stays "unknown" until it is advertised again.
    running ??= Promise.allSettled(opts.registry.list().filter((b) => !b.withdrawn && due(b)).map(checkOne)).then(() => {
      running = undefined
    })
    return running
  }

  return {
    checkAll,
    checkOne,
    /** Start periodic checks; the first round runs at once and is returned. */
    start(): Promise<void> {
      const first = checkAll()
      const schedule = () => {
        timer = setTimeout(() => {
          checkAll().finally(() => {
            if (timer) schedule()
          })
        }, opts.config().interval_seconds * 1000)
      }
      schedule()
      return first
    },
    stop(): void {
      if (timer) clearTimeout(timer)
      timer = undefined
    },
    /**
     * Probe what the registry gains, at once: a new backend, or one an operator undrained.
     * Returns the unsubscribe function.
     */
    follow(): () => void {
      return opts.registry.on((e) => {
        if (e.type === "backend_added") void checkOne(e.backend)
        else if (e.type === "backend_removed") tracks.delete(e.backend.id)
        else if (e.type === "status_changed" && e.from === "draining" && e.to === "unknown") void checkOne(e.backend)
        // A reload may have widened its `models` or changed its [[backends.models]]: ask it again.
        else if (e.type === "settings_changed") void checkOne(e.backend)
      })
    },
    forget(id: string): void {
      tracks.delete(id)
    },
  }
}
