/**
 * What every backend family knows how to do: find out whether the server is up,
 * list its models with what it can tell about them, and say where its
 * OpenAI-compatible API lives.
 * @module
 */
import type { BackendType } from "../config/types.ts"
import type { Backend, ModelInfo } from "../registry/types.ts"

export interface ProbeResult {
  status: "healthy" | "loading" | "unhealthy"
  /** Undefined keeps the models we knew (a failed probe must not empty the catalogue). */
  models?: ModelInfo[]
  error?: string
  version?: string
}

export interface ProbeContext {
  timeoutMs: number
  /** Per-backend scratch space that survives between probes (e.g. /api/show by digest). */
  cache: Map<string, unknown>
}

export interface BackendAdapter {
  type: BackendType
  /** Base of the OpenAI-compatible API, without a trailing slash (`http://h:11434/v1`). */
  apiBase(url: string): string
  probe(backend: Backend, ctx: ProbeContext): Promise<ProbeResult>
}
