/**
 * The effective configuration, after TOML, env and flags are merged and validated.
 * Keys mirror the TOML file (snake_case) so that error messages, `config validate`
 * output and the file a user edits all speak the same names.
 * @module
 */

import type { BackendType, Zone } from "../core/backend.ts"
import type { LogLevel } from "../core/logger.ts"

export { ZONES, type BackendType, type Zone } from "../core/backend.ts"
export { BACKEND_TYPES } from "../core/locality.ts"
export { LOG_LEVELS, type LogLevel } from "../core/logger.ts"

export const ROUTING_STRATEGIES = [
  "smart",
  "round_robin",
  "priority_only",
  "random",
  "least_busy",
] as const
export type RoutingStrategy = (typeof ROUTING_STRATEGIES)[number]

export const PRIVACY_LEVELS = ["restricted", "unrestricted"] as const
export type PrivacyLevel = (typeof PRIVACY_LEVELS)[number]

export const BUDGET_ACTIONS = ["warn", "block_cloud", "block_all"] as const
export type BudgetAction = (typeof BUDGET_ACTIONS)[number]
/** When the spend ledger cannot be read: keep cloud blocked (`closed`), or allow it (`open`). */
export const LEDGER_ERROR_MODES = ["closed", "open"] as const

/** While the shared state server cannot be reached: serve from the last known state (`open`), or refuse (`closed`). */
export const STATE_UNAVAILABLE = ["open", "closed"] as const


export const LOG_FORMATS = ["pretty", "json"] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

export interface ServerConfig {
  host: string
  port: number
  /** Total budget for one proxied request, all attempts included. */
  request_timeout_seconds: number
  /** How long an upstream may take to send response headers before we fail over. */
  first_byte_timeout_seconds: number
  /** The same allowance when the model is known not to be loaded yet (cold start). */
  cold_first_byte_timeout_seconds: number
  /** Request body limit in bytes (default 10 MiB). */
  max_body_bytes: number
  /** Quiet time in a stream after which an SSE comment keeps the connection alive. */
  sse_heartbeat_seconds: number
  /** Largest single stream event relayed before the answer is cut short (default 64 MiB). */
  max_frame_bytes: number
  /** A client that reads nothing for this long loses its answer and its backend slot. */
  client_stall_seconds: number
  /** How long SIGINT/SIGTERM waits for in-flight requests. */
  shutdown_timeout_seconds: number
  /** Clients of /v1/events connected at once; one more gets a 503. */
  max_event_subscribers: number
  admin_token?: string
  /** Where runtime state (added backends) is kept; a per-OS default when unset. */
  data_dir?: string
  /**
   * Environment variables that backends added at run time may name in `api_key_env`,
   * each with the origins (`https://host:port`) its value may be sent to. Absent: none.
   */
  runtime_api_keys?: Record<string, string[]>
  /** More names the Host header may give this gateway (globs; "*" turns the check off). */
  allowed_hosts: string[]
}

export interface DiscoveryConfig {
  enabled: boolean
  service_types: string[]
  grace_period_seconds: number
  probe_hosts: string[]
  probe_ports: number[]
  probe_interval_seconds: number
  advertise: boolean
}

export interface HealthCheckConfig {
  enabled: boolean
  interval_seconds: number
  timeout_seconds: number
  failure_threshold: number
  recovery_threshold: number
}

/** Relative weights of the `smart` score; they are normalised by their sum. */
export interface RoutingWeights {
  priority: number
  load: number
  latency: number
  /** Prefer backends that already have the model loaded. */
  warm: number
  /** Avoid backends whose recent attempts failed. */
  errors: number
}

export interface CircuitBreakerConfig {
  /** Consecutive failures that open a backend's circuit. */
  failure_threshold: number
  /** Seconds an open circuit refuses traffic before one trial request. */
  cooldown_seconds: number
}

export interface QueueConfig {
  /** Requests that may wait for capacity at once; more are refused with 503. */
  max_size: number
  /** How long one request may wait before a 503 with Retry-After. */
  max_wait_seconds: number
}

export interface RoutingConfig {
  strategy: RoutingStrategy
  /** Extra attempts after the first one, each on the next candidate. */
  max_retries: number
  weights: RoutingWeights
  aliases: Record<string, string>
  fallbacks: Record<string, string[]>
  circuit_breaker: CircuitBreakerConfig
  /** The first policy whose glob matches the requested (or resolved) model applies. */
  policies: RoutingPolicy[]
  /** Absent: no budget, cloud spend is only counted. */
  budget?: BudgetConfig
  sessions: SessionsConfig
}

/** Sticky sessions: a conversation stays on the backend whose prompt cache holds it. */
export interface SessionsConfig {
  enabled: boolean
  /** Conversations remembered at once (least recently used are forgotten first). */
  max_entries: number
  /** A conversation idle this long is forgotten. */
  idle_seconds: number
  /** How much lower (0..1 score) the session's backend may be than the best and keep it. */
  spill_margin: number
}

export interface RoutingPolicy {
  model_pattern: string
  /** `restricted`: never sent to a backend in the open zone. */
  privacy: PrivacyLevel
  min_tier?: number
}

export interface BudgetConfig {
  monthly_limit_usd: number
  /** From this share of the limit on, cloud is used only when nothing local can serve. */
  soft_limit_percent: number
  /** What happens once the month's spend reaches the limit. */
  hard_limit_action: BudgetAction
  /** While the ledger cannot be read, month-to-date spend is unknown: `closed` (the default) blocks cloud. */
  on_ledger_error?: (typeof LEDGER_ERROR_MODES)[number]
}

/** US dollars per million tokens. */
export interface PriceConfig {
  input_per_million: number
  output_per_million: number
}

export interface ModelOverride {
  name: string
  context_length?: number
  vision?: boolean
  tools?: boolean
  json_mode?: boolean
  embeddings?: boolean
}

export interface BackendConfig {
  name: string
  url: string
  type: BackendType
  /** Lower is preferred, as in the original. */
  priority: number
  api_key_env?: string
  zone: Zone
  tier: number
  timeout_seconds?: number
  max_concurrent?: number
  /** Memory this box has for models, GB (default: what the server reports, else unlimited). */
  memory_gb?: number
  models: ModelOverride[]
  /** Model globs this backend may serve (the string entries of `models`). */
  allow_models?: string[]
}

export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const
export type Weekday = (typeof WEEKDAYS)[number]

/** A model kept loaded on a backend: always, or on `days` from `from` to `to` (local time). */
export interface PinConfig {
  model: string
  backend: string
  /** Default: every day. */
  days?: Weekday[]
  /** "HH:MM"; default 00:00. A window whose `to` is before `from` runs past midnight. */
  from?: string
  /** "HH:MM"; default 24:00. */
  to?: string
}

export interface FleetConfig {
  /** Fleet management at all: residency-aware placement, load coordination, pins, auto. */
  enabled: boolean
  /** Tell streaming clients, in the reasoning channel, that their model is loading. */
  loading_status: boolean
  /** Pre-warm before recorded demand, load a second copy under a growing queue, unload it when idle. */
  auto: boolean
  /** How long before a model's usual demand auto loads it. */
  prewarm_minutes: number
  /** An extra copy auto loaded is unloaded after this long without requests. */
  idle_unload_minutes: number
  pins: PinConfig[]
}

export interface LoggingConfig {
  level: LogLevel
  format: LogFormat
}

/** `[auth]`: client API keys (managed with `nexus keys`, kept in the state file). */
export interface AuthConfig {
  /** Every inference route needs a key. */
  required: boolean
  /** `/health` answers without a key even when keys are required. */
  public_health: boolean
  /** `/metrics` answers without a key even when keys are required. */
  public_metrics: boolean
}

/** `[responses]`: responses Nexus keeps for `previous_response_id` and `GET /v1/responses/{id}`. */
export interface ResponsesConfig {
  /** The most kept at once; the oldest go first. 0 keeps none. */
  max_stored: number
  /** A kept response is forgotten this many days after it was made. */
  max_age_days: number
}

/** `[state]`: what several instances share (Redis or Valkey); without `url`, the state file. */
export interface StateConfig {
  /** `redis://host:6379/0` or `rediss://...`. */
  url?: string
  /** The variable holding the server's password. */
  password_env?: string
  /** While the server cannot be reached: `open` serves from the last known state, `closed` refuses keys and cloud spend. */
  on_unavailable: (typeof STATE_UNAVAILABLE)[number]
}

export interface NexusConfig {
  server: ServerConfig
  discovery: DiscoveryConfig
  health_check: HealthCheckConfig
  routing: RoutingConfig
  backends: BackendConfig[]
  queue: QueueConfig
  responses: ResponsesConfig
  fleet: FleetConfig
  logging: LoggingConfig
  auth: AuthConfig
  state: StateConfig
  /** Price overrides by model glob, checked before the built-in table. */
  pricing: Record<string, PriceConfig>
}
