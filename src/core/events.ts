/**
 * Typed events: what the registry changed and what happened to each request. Metrics,
 * stats, logs, the queue and (later) the dashboard subscribe; nothing polls or pokes.
 * @module
 */
import type { Backend, BackendStatus } from "./backend.ts"

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
  /** A health probe finished (latency and time recorded). */
  | { type: "probed"; backend: Backend }
  /** A slot was taken or released; request counters and averages moved. */
  | { type: "load_changed"; backend: Backend; released: boolean }

export type Listener<E> = (event: E) => void

export interface EventBus<E> {
  emit(event: E): void
  on(listener: Listener<E>): () => void
}

export function createEventBus<E>(): EventBus<E> {
  const listeners = new Set<Listener<E>>()
  return {
    emit(event) {
      for (const listener of listeners) {
        try {
          listener(event)
        } catch {
          // A faulty subscriber must not break the publisher for everybody else.
        }
      }
    },
    on(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
