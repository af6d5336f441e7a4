/**
 * What the dashboard page reads: one snapshot (`GET /dashboard/state`) and then live
 * events (`GET /v1/events`). Plain JSON shapes, shared by the server and the page.
 * @module
 */
import type { RequestRecord, SeriesPoint } from "../core/events.ts"

export type { RequestRecord, SeriesPoint }

export interface ModelState {
  id: string
  contextLength: number | null
  vision: boolean | null
  tools: boolean | null
  json: boolean | null
  embeddings: boolean | null
  /** Loaded in memory (warm), when the server says. */
  loaded: boolean | null
  /** Size in memory, bytes, when known. */
  sizeBytes: number | null
  /** When the server unloads it if idle, epoch ms (when it says). */
  expiresAt: number | null
  /** The fleet's facts, on boxes that load and unload models (else false, 0, null). */
  pinned: boolean
  inFlight: number
  /** Learned cold-load time on this box, ms. */
  loadMs: number | null
}

/** A model that finished loading on a box (`GET /v1/fleet`'s `recent_loads`). */
export interface LoadState {
  backend: string
  model: string
  /** request, explicit, pin. */
  reason: string
  seconds: number
  /** Epoch ms. */
  at: number
}

export interface BackendState {
  id: string
  name: string
  type: string
  url: string
  /** How it was found: config, probe, mdns, admin. */
  source: string
  status: string
  lastError: string | null
  /** Epoch ms of the last health probe. */
  lastCheck: number | null
  zone: string
  tier: number
  priority: number
  inFlight: number
  maxConcurrent: number | null
  requests: number
  errors: number
  /** Moving average of attempt failures, 0..1. */
  errorRate: number
  /** Average latency of its successful requests, ms. */
  latencyMs: number | null
  ttftMs: number | null
  probeMs: number | null
  breaker: string
  withdrawn: boolean
  /** The server keeps its models loaded (no load/unload API: vLLM, a plain llama.cpp server). */
  alwaysLoaded: boolean
  /** Memory for models, bytes (`memory_gb`), when known. */
  memoryBytes: number | null
  models: ModelState[]
}

export interface Snapshot {
  version: string
  uptimeSeconds: number
  /** State-changing actions are offered only when an admin token is configured. */
  admin: boolean
  backends: BackendState[]
  /** The last requests, newest first. */
  requests: RequestRecord[]
  series: SeriesPoint[]
  bucketMs: number
  /** The last model loads, oldest first. */
  loads: LoadState[]
}

/** One message of the live stream (`event:` is the type, `data:` the JSON). */
export type LiveEvent =
  | { type: "request"; data: RequestRecord }
  | { type: "backend"; data: BackendState }
  | { type: "backend_removed"; data: { id: string } }
  | { type: "models"; data: BackendState }
  | { type: "load"; data: LoadState }
