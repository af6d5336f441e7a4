/**
 * Typed events: what the registry changed and what happened to each request. Metrics,
 * stats, logs, the queue and (later) the dashboard subscribe; nothing polls or pokes.
 * @module
 */
import type { Backend, BackendStatus } from "./backend.ts"
import type { Failure } from "./outcome.ts"
import type { Dialect, Operation } from "./request.ts"
import type { Usage } from "./usage.ts"

export type RegistryEvent =
  | { type: "backend_added"; backend: Backend }
  | { type: "backend_removed"; backend: Backend }
  | { type: "status_changed"; backend: Backend; from: BackendStatus; to: BackendStatus }
  /** A new model list (`idsChanged`: models came or went, not only their details). */
  | { type: "models_changed"; backend: Backend; idsChanged: boolean }
  /** Same status, another reason (the last error). */
  | { type: "error_changed"; backend: Backend }
  /** Priority, zone, tier, timeout or capacity changed (a reload). */
  | { type: "settings_changed"; backend: Backend }
  /** A discovered service withdrew its advertisement, or came back. */
  | { type: "withdrawn_changed"; backend: Backend }
  /** The server refused a client dialect's own route (it lacks it): such requests are translated from now on. */
  | { type: "native_refused"; backend: Backend; dialect: Dialect }
  /** A health probe finished (latency and time recorded). */
  | { type: "probed"; backend: Backend }
  /** A slot was taken or released; request counters and averages moved. */
  | { type: "load_changed"; backend: Backend; released: boolean }

/** One finished request, whoever answered it (a backend, or Nexus itself with an error). */
export interface RequestRecord {
  requestId: string
  /** Wall-clock start, epoch ms. */
  at: number
  dialect: Dialect
  operation?: Operation
  /** The model the client asked for. */
  model: string
  /** The model that answered (after aliases and fallbacks), when one did. */
  servedModel?: string
  /** The backend that answered; undefined when Nexus answered itself. */
  backend?: string
  status: number
  stream: boolean
  latencyMs: number
  ttftMs?: number
  usage?: Usage
  /** What the request cost, when the backend has a price. */
  costUsd?: number
  /** The cost was estimated from the request: the backend reported no usage. */
  costEstimated?: boolean
  /** The name of the client's API key (never its secret), when keys are required. */
  key?: string
  /** Why this backend (X-Nexus-Route-Reason). */
  routeReason?: string
  /** Set when the answer came from a fallback model. */
  fallbackFrom?: string
  failures: readonly Failure[]
  error?: string
  /** Nexus's own error code when Nexus answered itself (`model_not_found`, `queue_full`, …). */
  errorCode?: string
  clientAborted: boolean
  /** The body was cut by a backend failure after the status was committed. */
  midStreamError: boolean
}

/** Finished requests aggregated over one time bucket (the dashboard's charts). */
export interface SeriesPoint {
  /** Bucket start, epoch ms. */
  t: number
  requests: number
  errors: number
  /** Completion tokens reported in the bucket. */
  tokens: number
  /** Latency percentiles in ms; null for an empty bucket. */
  p50: number | null
  p95: number | null
}

export type Listener<E> = (event: E) => void

/**
 * Told of each listener that threw. The bus goes on with the others (one faulty
 * subscriber must not break the publisher for everybody), but never silently.
 */
export type ListenerFault = (err: unknown, listener: Listener<never>) => void

/** What a failure is, for saying it once: the listener's name and the error's. */
export function faultKind(err: unknown, listener: Listener<never>): string {
  const name = err instanceof Error ? err.name : typeof err
  return `${listener.name || "anonymous listener"}: ${name}`
}

const told = new Set<string>()

/** For a bus nobody watches (unit tests): each kind of failure on stderr, once. */
function complainOnce(err: unknown, listener: Listener<never>): void {
  const kind = faultKind(err, listener)
  if (told.has(kind)) return
  told.add(kind)
  console.error(`an event listener failed (${kind}): ${err instanceof Error ? err.message : String(err)}`)
}

export interface EventBus<E> {
  emit(event: E): void
  on(listener: Listener<E>): () => void
}

export function createEventBus<E>(onFault: ListenerFault = complainOnce): EventBus<E> {
  // An array replaced on every (rare) change: emitting happens several times per request,
  // and walking a Set builds an iterator each time. A listener that subscribes or leaves
  // during an emit takes effect from the next one.
  let listeners: readonly Listener<E>[] = []
  return {
    emit(event) {
      const current = listeners
      for (let i = 0; i < current.length; i++) {
        try {
          current[i]!(event)
        } catch (err) {
          onFault(err, current[i]!)
        }
      }
    },
    on(listener) {
      if (!listeners.includes(listener)) listeners = [...listeners, listener]
      return () => {
        listeners = listeners.filter((l) => l !== listener)
      }
    },
  }
}
