/**
 * What a server type that manages model residency lets us ask of it: load a model it
 * already has, unload one. Providers with such an API declare one of these; the others'
 * models are always loaded (one model served, as vLLM does, or a plain llama.cpp server).
 * @module
 */
import type { BackendInit } from "../core/backend.ts"

export type LifecycleTarget = Pick<BackendInit, "url" | "apiKey">

export interface LoadRequest {
  /** How long the server should keep it loaded when idle, ms; -1: until told otherwise. */
  keepAliveMs?: number
  /** Give up waiting for the server after this long. */
  timeoutMs: number
}

/** Why an operation did not happen: `unsupported` is this server's answer that it cannot. */
export type LifecycleResult = { ok: true } | { ok: false; unsupported?: boolean; error: string }

export interface Lifecycle {
  /**
   * Takes a keep-alive with a load, and a load of a loaded model only renews it. Without
   * it, a load of a loaded model would load it again or be refused: only what is cold is loaded.
   */
  keepAlive?: boolean
  load(target: LifecycleTarget, model: string, req: LoadRequest): Promise<LifecycleResult>
  unload(target: LifecycleTarget, model: string, req: { timeoutMs: number }): Promise<LifecycleResult>
}
