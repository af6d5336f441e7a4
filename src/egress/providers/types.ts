/**
 * What every provider knows how to do: find out whether its server is up, list its
 * models with what it can tell about them, say where its API lives and in which dialect,
 * and fix the quirks of its own stream. Translation between dialects plugs in here too.
 * @module
 */
import type { BackendInit, BackendType, ModelInfo } from "../../core/backend.ts"
import type { Dialect } from "../../core/request.ts"

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

/** What a probe needs to know about the server it asks. */
export type ProbeTarget = Pick<BackendInit, "url" | "apiKey">

/**
 * A rewrite of one complete SSE event (without its blank-line terminator) into what
 * OpenAI clients understand, or undefined to forward it untouched.
 */
export type EventFix = (event: string) => string | undefined

export interface Provider {
  type: BackendType
  /** The API dialect the server speaks natively. */
  dialect: Dialect
  /** Base of the server's API in that dialect, without a trailing slash (`http://h:11434/v1`). */
  apiBase(url: string): string
  probe(target: ProbeTarget, ctx: ProbeContext): Promise<ProbeResult>
  /** This server's stream quirks, fixed on the way through (only events that need it change). */
  fixEvent?: EventFix
}
