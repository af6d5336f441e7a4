/**
 * Backends and models as the gateway knows them. The registry owns these objects;
 * everything else reads them or subscribes to registry events.
 * @module
 */
import type { BackendType, Zone } from "../config/types.ts"

/** A capability is tri-state: known yes, known no, or unknown (never blocks a request). */
export type Tri = true | false | undefined

export interface ModelCapabilities {
  vision?: boolean
  tools?: boolean
  json_mode?: boolean
  embeddings?: boolean
  completion?: boolean
}

export interface ModelInfo {
  id: string
  /** Context window in tokens, when the server tells us. */
  contextLength?: number
  capabilities: ModelCapabilities
  /** Loaded in memory on this backend (warm), when the server exposes it. */
  loaded?: boolean
  /** GPU memory the loaded model holds, in bytes (Ollama's /api/ps). */
  vramBytes?: number
  /** Who owns it according to the backend (`library`, `vllm`, …). */
  ownedBy?: string
}

export type BackendStatus = "unknown" | "healthy" | "unhealthy" | "loading" | "draining"

export type BackendSource = "config" | "probe" | "mdns" | "admin"

/** Found by discovery (not configured or added by an operator): it may be replaced or forgotten. */
export function isDiscovered(b: Pick<Backend, "source">): boolean {
  return b.source === "probe" || b.source === "mdns"
}

/** Observed behaviour, fed by real requests, read by the router and by stats. */
export interface BackendStats {
  inFlight: number
  requests: number
  errors: number
  /** EWMA of time to first byte on real requests, ms. Undefined until the first sample. */
  ttftEwmaMs?: number
  /** EWMA of probe latency, ms. */
  probeLatencyMs?: number
  /** EWMA of attempt failures (0 = none fail, 1 = all fail). */
  errorRate: number
}

export interface Backend {
  /** Stable id: the configured name, or type+host+port for discovered ones. */
  id: string
  name: string
  url: string
  type: BackendType
  /** Lower is preferred. */
  priority: number
  zone: Zone
  tier: number
  source: BackendSource
  status: BackendStatus
  lastError?: string
  lastCheck?: number
  /** Resolved from `api_key_env` at registration; never logged, never sent elsewhere. */
  apiKey?: string
  timeoutMs?: number
  maxConcurrent?: number
  models: Map<string, ModelInfo>
  stats: BackendStats
  /**
   * Set while a discovered service has withdrawn (mDNS goodbye) and waits out its grace
   * period: health checks leave it "unknown" until it returns or is removed.
   */
  withdrawn?: boolean
}

export type RegistryEvent =
  | { type: "backend_added"; backend: Backend }
  | { type: "backend_removed"; backend: Backend }
  | { type: "status_changed"; backend: Backend; from: BackendStatus; to: BackendStatus }
  | { type: "models_changed"; backend: Backend }

/** Backend types that run in somebody else's cloud rather than on the LAN. */
export function isCloud(type: BackendType, url: string): boolean {
  if (type !== "openai") return false
  try {
    const host = new URL(url).hostname
    return !isPrivateHost(host)
  } catch {
    return true
  }
}

/** Loopback, RFC 1918, link-local and mDNS names count as local. */
export function isPrivateHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase()
  if (h === "localhost" || h.endsWith(".localhost") || h.endsWith(".local")) return true
  if (h === "::1" || h.startsWith("fe80:") || h.startsWith("fc") || h.startsWith("fd")) return true
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(h)
  if (!m) return false
  const a = Number(m[1])
  const b = Number(m[2])
  return a === 127 || a === 10 || (a === 192 && b === 168) || (a === 172 && b >= 16 && b <= 31) || (a === 169 && b === 254)
}
