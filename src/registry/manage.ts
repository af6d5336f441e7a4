/**
 * Backend management: backends added and removed at run time (persisted), drained and
 * undrained, found and forgotten by discovery, and the configured set brought in line
 * with a reloaded file. Everything goes through the registry, whose events tell the
 * health checker, the queue and observability what changed.
 * @module
 */
import * as v from "valibot"
import { backendId, isDiscovered, type Backend, type BackendType, type Zone } from "../core/backend.ts"
import { NexusError } from "../core/errors.ts"
import { describeValue } from "../config/errors.ts"
import { runtimeKeyRefusal } from "../config/runtime-keys.ts"
import { backendWithDefaults } from "../config/schema-backends.ts"
import { BACKEND_TYPES, type BackendConfig, type NexusConfig } from "../config/types.ts"
import { runtimeZone } from "../core/locality.ts"
import type { Logger } from "../core/logger.ts"
import type { BackendChange, Store, StoredBackend } from "../persist/store.ts"
import { backendInit, settingsOf } from "./create.ts"
import type { ConfigDiff } from "./diff.ts"
import type { Registry } from "./registry.ts"

export interface AddBackendInput {
  url: string
  name?: string
  type?: BackendType
  priority?: number
  api_key_env?: string
  max_concurrent?: number
  /** Default: see runtimeZone (open unless a local type at a private address). */
  zone?: Zone
}

/** The id comes from a URL path and may hold anything: an unusual one is quoted and shortened. */
export function noSuchBackend(id: string): NexusError {
  const shown = /^[\w.:@/-]{1,64}$/.test(id) ? id : describeValue(id)
  return new NexusError({ kind: "not_found", message: `no backend with id ${shown}`, param: "id", code: "backend_not_found" })
}

function invalid(param: string, message: string, code = "invalid_request"): NexusError {
  return new NexusError({ kind: "invalid_request", message, param, code })
}

export type BackendManager = ReturnType<typeof createBackendManager>

export function createBackendManager(opts: {
  registry: Registry
  store?: Store
  env: Record<string, string | undefined>
  log: Logger
  config(): NexusConfig
  /** What kind of server answers at a URL (fingerprinting), for backends added without a type. */
  identify(url: string): Promise<BackendType | undefined>
}) {
  const { registry, store, env, log } = opts
  /** `api_key_env` of each backend added at run time that has a key, by id: checked again on reload. */
  const keyEnvs = new Map<string, string>()

  function register(cfg: BackendConfig, source: Backend["source"]): Backend | undefined {
    const { init, problem } = backendInit(cfg, env, source)
    if (!init) {
      log.warn(`backend ${cfg.name} skipped: ${problem}`, { backend: cfg.name })
      return undefined
    }
    return registry.add(init)
  }

  /** Out of the registry; requests in flight on it finish. */
  function drop(id: string): Backend | undefined {
    const backend = registry.remove(id)
    keyEnvs.delete(id)
    return backend
  }

  /** Why this backend added at run time may not have its key; undefined when it may. */
  function keyRefusal(keyEnv: string | undefined, url: string): string | undefined {
    return keyEnv ? runtimeKeyRefusal(opts.config().server, keyEnv, url, env) : undefined
  }

  /**
   * Register one persisted backend. A row that fails today's checks (its key is no
   * longer paired with its origin, or an older version stored a value now refused) is
   * skipped with a warning rather than registered without its key: a backend silently
   * changed from what the operator added would be a downgrade nobody asked for. The row
   * stays in the store, so allowing it again and reloading brings it back.
   */
  function restoreOne(s: StoredBackend): void {
    if (registry.get(s.id) || registry.findByUrl(s.url)) return
    const { id: _id, ...fields } = s
    let cfg: BackendConfig
    try {
      // Rows saved before zones were kept get the zone an addition gets today.
      cfg = backendWithDefaults({ ...fields, zone: fields.zone ?? runtimeZone(fields.type, fields.url) })
    } catch (err) {
      const issue = err instanceof v.ValiError ? err.issues[0] : undefined
      const why = issue ? `${v.getDotPath(issue)}: ${issue.message}, got ${describeValue(issue.input)}` : (err as Error).message
      log.warn(`backend ${s.name} not restored: ${why}`, { backend: s.name })
      return
    }
    // Checked on the validated URL, before anything is registered or probed.
    const refusal = keyRefusal(cfg.api_key_env, cfg.url)
    if (refusal) {
      log.warn(`backend ${s.name} not restored: api_key_env ${refusal}`, { backend: s.name, api_key_env: s.api_key_env })
      return
    }
    const backend = register(cfg, "admin")
    if (backend && cfg.api_key_env) keyEnvs.set(backend.id, cfg.api_key_env)
  }

  function setDrained(id: string, on: boolean): void {
    const b = registry.get(id)
    if (!b) return
    if (on && b.status !== "draining") registry.setStatus(id, "draining", "drained by an operator")
    // Back to "unknown": the health checker hears of it and probes at once.
    else if (!on && b.status === "draining") registry.setStatus(id, "unknown")
  }

  /** What another instance sharing the store did. */
  function applyChange(change: BackendChange): void {
    if (change.type === "saved") return restoreOne(change.backend)
    if (change.type === "deleted") {
      if (registry.get(change.id)?.source === "admin") drop(change.id)
      return
    }
    setDrained(change.id, change.type === "drained")
  }

  /** After a reload: backends whose key is no longer allowed leave; newly allowed ones return. */
  function recheckKeys(): void {
    for (const [id, keyEnv] of keyEnvs) {
      const b = registry.get(id)
      const refusal = b && keyRefusal(keyEnv, b.url)
      if (!refusal) continue
      drop(id)
      log.warn(`backend ${id} removed until allowed again: api_key_env ${refusal}`, { backend: id, api_key_env: keyEnv })
    }
    for (const s of store?.backends() ?? []) restoreOne(s)
  }

  return {
    /** Add a backend by URL; the type is fingerprinted when not given. Persisted. */
    async addBackend(input: AddBackendInput): Promise<Backend> {
      let url: URL
      try {
        url = new URL(input.url)
        if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error()
      } catch {
        throw invalid("url", `url: expected an http:// or https:// URL, got ${JSON.stringify(input.url)}`)
      }
      const clean = input.url.replace(/\/+$/, "")
      // Before anything contacts the URL, and before saying whether the variable is set.
      const refusal = keyRefusal(input.api_key_env, clean)
      if (refusal) throw invalid("api_key_env", `api_key_env: ${refusal}`, "api_key_env_not_allowed")
      if (input.api_key_env && !env[input.api_key_env]) {
        throw invalid("api_key_env", `api_key_env: environment variable ${input.api_key_env} is not set on the server`)
      }
      const existing = registry.findByUrl(clean)
      // A discovered backend may be adopted: it becomes an admin one that is kept.
      if (existing && !isDiscovered(existing)) {
        throw new NexusError({ kind: "conflict", message: `backend ${existing.name} already serves ${clean}`, param: "url", code: "backend_exists" })
      }
      const type = input.type ?? (await opts.identify(clean))
      if (!type) {
        const message = `no LLM server recognised at ${clean}; pass "type" (${BACKEND_TYPES.join(", ")})`
        throw new NexusError({ kind: "unprocessable", message, param: "url", code: "unrecognised_server" })
      }
      const name = input.name ?? backendId(type, url.hostname, Number(url.port) || (url.protocol === "https:" ? 443 : 80))
      const named = registry.get(name)
      if (named && named !== existing) {
        throw new NexusError({ kind: "conflict", message: `a backend named ${name} already exists`, param: "name", code: "backend_exists" })
      }
      const zone = input.zone ?? runtimeZone(type, clean)
      const cfg = backendWithDefaults({ name, url: clean, type, zone, priority: input.priority, api_key_env: input.api_key_env, max_concurrent: input.max_concurrent })
      if (existing) {
        drop(existing.id)
        log.info(`backend ${existing.name} (discovered) adopted as ${name}`, { backend: name })
      }
      const backend = register(cfg, "admin")!
      if (cfg.api_key_env) keyEnvs.set(backend.id, cfg.api_key_env)
      store?.saveBackend({ id: name, name, url: clean, type, zone, priority: cfg.priority, api_key_env: cfg.api_key_env, max_concurrent: cfg.max_concurrent })
      log.info(`backend ${name} added (${type} at ${clean}, ${zone} zone)`, { backend: name, zone })
      return backend
    },

    /** Remove a backend; requests in flight on it finish normally. */
    removeBackend(id: string): Backend {
      const backend = drop(id)
      if (!backend) throw noSuchBackend(id)
      store?.deleteBackend(id)
      log.info(`backend ${id} removed`, { backend: id, in_flight: backend.stats.inFlight })
      return backend
    },

    drain(id: string): Backend {
      const backend = registry.get(id)
      if (!backend) throw noSuchBackend(id)
      store?.setDrained?.(id, true)
      setDrained(id, true)
      return backend
    },

    undrain(id: string): Backend {
      const backend = registry.get(id)
      if (!backend) throw noSuchBackend(id)
      store?.setDrained?.(id, false)
      setDrained(id, false)
      return backend
    },

    /**
     * Register a server that discovery found (not persisted: discovery finds it again).
     * Returns undefined when a backend already serves that address; configured ones win.
     */
    addDiscovered(found: { url: string; type: BackendType; source: "probe" | "mdns"; id: string }): Backend | undefined {
      if (registry.findByUrl(found.url) || registry.get(found.id)) return undefined
      const backend = register(backendWithDefaults({ name: found.id, url: found.url, type: found.type }), found.source)
      if (backend) log.info(`discovered ${found.type} at ${found.url} (${found.source})`, { backend: found.id, source: found.source })
      return backend
    },

    /** Forget a discovered backend (its advertisement is gone for good). */
    removeDiscovered(id: string): void {
      const b = registry.get(id)
      if (!b || !isDiscovered(b)) return
      drop(id)
      log.info(`backend ${id} removed: its advertisement is gone`, { backend: id })
    },

    /** Forget every discovered backend (discovery was turned off). */
    forgetDiscovered(): void {
      for (const b of registry.list()) if (isDiscovered(b)) drop(b.id)
    },

    /**
     * Backends persisted by earlier runs, unless the configuration now has them; with a
     * shared store, the drained flags too, and every change other instances make from now on.
     */
    restore(): void {
      for (const s of store?.backends() ?? []) restoreOne(s)
      for (const id of store?.drained?.() ?? []) setDrained(id, true)
      store?.watch?.(applyChange)
    },

    /** Bring the configured backends in line with a reloaded file (`diff` of old and new). */
    applyConfig(diff: ConfigDiff): void {
      for (const name of diff.removed) {
        const b = registry.get(name)
        if (b?.source === "config") drop(name)
      }
      for (const { next: cfg, replace } of diff.changed) {
        const b = registry.get(cfg.name)
        if (!b || replace) {
          if (b) drop(cfg.name)
          register(cfg, "config")
          continue
        }
        registry.updateSettings(b.id, settingsOf(cfg))
      }
      for (const cfg of diff.added) {
        // A configured backend wins over a discovered one at the same address.
        const dup = registry.findByUrl(cfg.url)
        if (dup && isDiscovered(dup)) drop(dup.id)
        if (!registry.get(cfg.name)) register(cfg, "config")
      }
      recheckKeys()
    },

    /** The configured backends at start. */
    addConfigured(backends: BackendConfig[]): void {
      for (const cfg of backends) register(cfg, "config")
    },
  }
}
