/**
 * Backends and models as the gateway knows them. The registry is the only writer of
 * these objects; everything else sees them read-only and learns of changes through
 * registry events.
 * @module
 */

import type { Dialect } from "./request.ts"

/**
 * The names of the kinds of server Nexus talks to. Each provider adds its own from its
 * file (`declare module` in src/egress/providers/<type>.ts), so a new provider needs no
 * edit here; the list at run time comes from the provider registry (core/locality.ts).
 */
export interface BackendTypeNames {}

/** A kind of server: `generic` is any OpenAI-compatible server we know nothing more about. */
export type BackendType = keyof BackendTypeNames & string

/** Where a backend runs: `restricted` keeps data on hardware the operator controls. */
export const ZONES = ["restricted", "open"] as const
export type Zone = (typeof ZONES)[number]

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
  /** Memory the model takes when loaded, bytes (loaded: what the server reports; else its file size). */
  sizeBytes?: number
  /** When the server will unload it if unused, epoch ms (Ollama's `expires_at`). */
  expiresAt?: number
  /** Who owns it according to the backend (`library`, `vllm`, …). */
  ownedBy?: string
}

export type BackendStatus = "unknown" | "healthy" | "unhealthy" | "loading" | "draining"

export type BackendSource = "config" | "probe" | "mdns" | "admin"

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

/** The settings an operator controls, which a reload may change in place. */
export interface BackendSettings {
  /** Lower is preferred. */
  priority: number
  zone: Zone
  tier: number
  timeoutMs?: number
  maxConcurrent?: number
  /** Memory for models on this box, bytes (`memory_gb`); undefined: what the server says, or no limit. */
  memoryBytes?: number
  /** Model id globs this backend may serve (a cloud account lists hundreds); undefined: all. */
  allowModels?: readonly string[]
}

/** What the registry needs to register a backend. */
export interface BackendInit extends BackendSettings {
  /** Stable id: the configured name, or type+host+port for discovered ones. */
  id: string
  name: string
  url: string
  type: BackendType
  source: BackendSource
  /** Resolved from `api_key_env` at registration; never logged, never sent elsewhere. */
  apiKey?: string
}

/** A registered backend, as the registry keeps it. Only the registry writes it. */
export interface BackendRecord extends BackendInit {
  status: BackendStatus
  lastError?: string
  lastCheck?: number
  models: Map<string, ModelInfo>
  stats: BackendStats
  /**
   * Set while a discovered service has withdrawn (mDNS goodbye) and waits out its grace
   * period: health checks leave it "unknown" until it returns or is removed.
   */
  withdrawn?: boolean
  /**
   * Client dialects whose own route this server turned out to lack although its type
   * usually has it (an older vLLM without `/v1/responses`): learned from its refusal,
   * forgotten when it comes back from being down (it may have been upgraded).
   */
  lacksNative?: Set<Dialect>
}

/** A backend as everyone but the registry sees it. */
export type Backend = Readonly<Omit<BackendRecord, "models" | "stats" | "lacksNative">> & {
  readonly lacksNative?: ReadonlySet<Dialect>
  readonly models: ReadonlyMap<string, Readonly<ModelInfo>>
  readonly stats: Readonly<BackendStats>
}

/** Statuses a request may be routed to. */
export function isRoutable(b: Pick<Backend, "status">): boolean {
  return b.status === "healthy"
}

/**
 * Whether every slot `max_concurrent` allows is taken. The registry's slot grant and the
 * router's "at capacity" exclusion both ask this, so they cannot disagree on the limit.
 */
export function atCapacity(b: Pick<Backend, "maxConcurrent" | "stats">): boolean {
  return b.maxConcurrent !== undefined && b.stats.inFlight >= b.maxConcurrent
}

/** Found by discovery (not configured or added by an operator): it may be replaced or forgotten. */
export function isDiscovered(b: Pick<Backend, "source">): boolean {
  return b.source === "probe" || b.source === "mdns"
}

/** Whether requests to this backend leave the operator's own hardware. */
export function isCloud(b: Pick<Backend, "zone">): boolean {
  return b.zone === "open"
}

/** The id of a backend found at an address (discovery, or added by URL without a name). */
export function backendId(type: string, host: string, port: number): string {
  return `${type}-${host.replace(/[^\w.-]/g, "_")}-${port}`
}
