/**
 * Building registry entries from configuration-shaped input (the file, the admin API,
 * the store). Keys come from the environment only, resolved here once.
 * @module
 */
import type { BackendConfig } from "../config/types.ts"
import type { Backend, BackendSource } from "./types.ts"

export function createBackend(
  cfg: Pick<BackendConfig, "name" | "url" | "type" | "priority" | "zone" | "tier"> &
    Partial<Pick<BackendConfig, "api_key_env" | "timeout_seconds" | "max_concurrent">>,
  env: Record<string, string | undefined>,
  source: BackendSource = "config",
  id = cfg.name
): { backend?: Backend; problem?: string } {
  let apiKey: string | undefined
  if (cfg.api_key_env) {
    apiKey = env[cfg.api_key_env]
    if (!apiKey) return { problem: `environment variable ${cfg.api_key_env} is not set` }
  }
  return {
    backend: {
      id,
      name: cfg.name,
      url: cfg.url.replace(/\/+$/, ""),
      type: cfg.type,
      priority: cfg.priority,
      zone: cfg.zone,
      tier: cfg.tier,
      source,
      status: "unknown",
      apiKey,
      timeoutMs: cfg.timeout_seconds ? cfg.timeout_seconds * 1000 : undefined,
      maxConcurrent: cfg.max_concurrent,
      models: new Map(),
      stats: { inFlight: 0, requests: 0, errors: 0, errorRate: 0 },
    },
  }
}
