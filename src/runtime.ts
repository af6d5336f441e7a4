/**
 * Changing the running gateway: backends added and removed at run time (persisted),
 * drained and undrained, and configuration reloads that apply only the difference
 * without dropping a request in flight.
 * @module
 */
import type { BackendConfig, BackendType, ModelOverride, NexusConfig } from "./config/types.ts"
import { fingerprint } from "./discovery/fingerprint.ts"
import type { HealthChecker } from "./health/checker.ts"
import type { Logger } from "./observability/log.ts"
import type { Store } from "./persist/store.ts"
import { createBackend } from "./registry/create.ts"
import type { Registry } from "./registry/registry.ts"
import type { Backend } from "./registry/types.ts"
import { describeDiff, diffConfig } from "./reload.ts"

export interface AddBackendInput {
  url: string
  name?: string
  type?: BackendType
  priority?: number
  api_key_env?: string
  max_concurrent?: number
}

/** A failure the admin API turns into a 4xx. */
export class RuntimeError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 422,
    message: string
  ) {
    super(message)
  }
}

export type Runtime = ReturnType<typeof createRuntime>

export function createRuntime(opts: {
  registry: Registry
  health: HealthChecker
  store?: Store
  env: Record<string, string | undefined>
  log: Logger
  config(): NexusConfig
  setConfig(next: NexusConfig): void
  overrides: Map<string, ModelOverride[]>
}) {
  const { registry, health, store, env, log } = opts

  function register(cfg: BackendConfig, source: Backend["source"]): Backend | undefined {
    const { backend, problem } = createBackend(cfg, env, source)
    if (!backend) {
      log.warn(`backend ${cfg.name} skipped: ${problem}`, { backend: cfg.name })
      return undefined
    }
    registry.add(backend)
    void health.checkOne(backend)
    return backend
  }

  return {
    /** Add a backend by URL; the type is fingerprinted when not given. Persisted. */
    async addBackend(input: AddBackendInput): Promise<Backend> {
      let url: URL
      try {
        url = new URL(input.url)
        if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error()
      } catch {
        throw new RuntimeError(400, `url: expected an http:// or https:// URL, got ${JSON.stringify(input.url)}`)
      }
      const clean = input.url.replace(/\/+$/, "")
      const existing = registry.findByUrl(clean)
      // A discovered backend may be adopted: it becomes an admin one that is kept.
      if (existing && existing.source !== "probe" && existing.source !== "mdns") {
        throw new RuntimeError(409, `backend ${existing.name} already serves ${clean}`)
      }
      const type = input.type ?? (await fingerprint(clean))
      if (!type) {
        throw new RuntimeError(422, `no LLM server recognised at ${clean}; pass "type" (ollama, vllm, llamacpp, lmstudio, exo, localai, llamafile, openai)`)
      }
      const name = input.name ?? `${type}-${url.hostname}-${url.port || (url.protocol === "https:" ? 443 : 80)}`
      const named = registry.get(name)
      if (named && named !== existing) throw new RuntimeError(409, `a backend named ${name} already exists`)
      const cfg: BackendConfig = {
        name,
        url: clean,
        type,
        priority: input.priority ?? 50,
        api_key_env: input.api_key_env,
        max_concurrent: input.max_concurrent,
        zone: type === "openai" ? "open" : "restricted",
        tier: 1,
        models: [],
      }
      if (cfg.api_key_env && !env[cfg.api_key_env]) {
        throw new RuntimeError(400, `api_key_env: environment variable ${cfg.api_key_env} is not set on the server`)
      }
      if (existing) {
        registry.remove(existing.id)
        health.forget(existing.id)
        log.info(`backend ${existing.name} (discovered) adopted as ${name}`, { backend: name })
      }
      const backend = register(cfg, "admin")!
      store?.saveBackend({ id: name, name, url: clean, type, priority: cfg.priority, api_key_env: cfg.api_key_env, max_concurrent: cfg.max_concurrent })
      log.info(`backend ${name} added (${type} at ${clean})`, { backend: name })
      return backend
    },

    /** Remove a backend; requests in flight on it finish normally. */
    removeBackend(id: string): Backend {
      const backend = registry.remove(id)
      if (!backend) throw new RuntimeError(404, `no backend with id ${id}`)
      health.forget(id)
      store?.deleteBackend(id)
      log.info(`backend ${id} removed`, { backend: id, in_flight: backend.stats.inFlight })
      return backend
    },

    drain(id: string): Backend {
      const backend = registry.get(id)
      if (!backend) throw new RuntimeError(404, `no backend with id ${id}`)
      registry.setStatus(id, "draining", "drained by an operator")
      return backend
    },

    undrain(id: string): Backend {
      const backend = registry.get(id)
      if (!backend) throw new RuntimeError(404, `no backend with id ${id}`)
      if (backend.status === "draining") {
        registry.setStatus(id, "unknown")
        void health.checkOne(backend)
      }
      return backend
    },

    /**
     * Register a server that discovery found (not persisted: discovery finds it again).
     * Returns undefined when a backend already serves that address; configured ones win.
     */
    addDiscovered(found: { url: string; type: BackendType; source: "probe" | "mdns"; id: string }): Backend | undefined {
      if (registry.findByUrl(found.url) || registry.get(found.id)) return undefined
      const cfg: BackendConfig = {
        name: found.id,
        url: found.url,
        type: found.type,
        priority: 50,
        zone: found.type === "openai" ? "open" : "restricted",
        tier: 1,
        models: [],
      }
      const backend = register(cfg, found.source)
      if (backend) log.info(`discovered ${found.type} at ${found.url} (${found.source})`, { backend: found.id, source: found.source })
      return backend
    },

    /** Forget a discovered backend (its advertisement is gone for good). */
    removeDiscovered(id: string): void {
      const b = registry.get(id)
      if (!b || (b.source !== "probe" && b.source !== "mdns")) return
      registry.remove(id)
      health.forget(id)
      log.info(`backend ${id} removed: its advertisement is gone`, { backend: id })
    },

    /** Backends persisted by earlier runs, unless the configuration now has them. */
    restore(): void {
      for (const s of store?.backends() ?? []) {
        if (registry.get(s.id) || registry.findByUrl(s.url)) continue
        register({ ...s, zone: s.type === "openai" ? "open" : "restricted", tier: 1, models: [] }, "admin")
      }
    },

    /** Apply a new, already validated configuration; returns what changed. */
    apply(next: NexusConfig): string[] {
      const prev = opts.config()
      const diff = diffConfig(prev, next)
      for (const name of diff.removed) {
        const b = registry.get(name)
        if (b?.source === "config") {
          registry.remove(name)
          health.forget(name)
        }
      }
      for (const { next: cfg, replace } of diff.changed) {
        const b = registry.get(cfg.name)
        if (!b || replace) {
          if (b) registry.remove(cfg.name)
          register(cfg, "config")
          continue
        }
        b.priority = cfg.priority
        b.zone = cfg.zone
        b.tier = cfg.tier
        b.maxConcurrent = cfg.max_concurrent
        b.timeoutMs = cfg.timeout_seconds ? cfg.timeout_seconds * 1000 : undefined
      }
      for (const cfg of diff.added) {
        // A configured backend wins over a discovered one at the same address.
        const dup = registry.findByUrl(cfg.url)
        if (dup && (dup.source === "probe" || dup.source === "mdns")) {
          registry.remove(dup.id)
          health.forget(dup.id)
        }
        if (!registry.get(cfg.name)) register(cfg, "config")
      }
      opts.overrides.clear()
      for (const b of next.backends) opts.overrides.set(b.name, b.models)
      opts.setConfig(next)
      const lines = describeDiff(diff)
      log.info(lines.length ? `configuration reloaded: ${lines.join("; ")}` : "configuration reloaded: nothing changed")
      return lines
    },
  }
}
