/**
 * Registry entries from configuration-shaped input (the file, the admin API, the store,
 * discovery). Keys come from the environment only, resolved here once.
 * @module
 */
import type { BackendInit, BackendSettings, BackendSource } from "../core/backend.ts"
import { ConfigError } from "../config/errors.ts"
import type { BackendConfig } from "../config/types.ts"

export type BackendFields = Pick<BackendConfig, "name" | "url" | "type" | "priority" | "zone" | "tier"> &
  Partial<Pick<BackendConfig, "api_key_env" | "timeout_seconds" | "max_concurrent" | "allow_models" | "memory_gb">>

/** The settings a reload may change in place, from the config's spelling. */
export function settingsOf(cfg: BackendFields): BackendSettings {
  return {
    priority: cfg.priority,
    zone: cfg.zone,
    tier: cfg.tier,
    timeoutMs: cfg.timeout_seconds ? cfg.timeout_seconds * 1000 : undefined,
    maxConcurrent: cfg.max_concurrent,
    memoryBytes: cfg.memory_gb ? cfg.memory_gb * 1024 ** 3 : undefined,
    allowModels: cfg.allow_models,
  }
}

export function backendInit(
  cfg: BackendFields,
  env: Record<string, string | undefined>,
  source: BackendSource = "config",
  id = cfg.name
): { init?: BackendInit; problem?: string } {
  let apiKey: string | undefined
  if (cfg.api_key_env) {
    apiKey = env[cfg.api_key_env]
    if (!apiKey) return { problem: `environment variable ${cfg.api_key_env} is not set` }
  }
  return {
    init: { id, name: cfg.name, url: cfg.url.replace(/\/+$/, ""), type: cfg.type, source, apiKey, ...settingsOf(cfg) },
  }
}

/** A configured backend whose key variable is unset is a startup error that names it. */
export function requireKeys(backends: readonly BackendFields[], env: Record<string, string | undefined>): void {
  const missing = backends.filter((b) => b.api_key_env && !env[b.api_key_env])
  if (!missing.length) return
  const lines = missing.map((b) => `backend ${b.name}: environment variable ${b.api_key_env} is not set (it must hold the API key)`)
  throw new ConfigError(lines.join("; "), lines)
}
