/**
 * Shared shapes of the emulated backends. Each emulator is a real `Bun.serve` that
 * behaves on the wire like the server it stands for (reference/backends.md).
 */

export interface EmulatorModel {
  id: string
  contextLength?: number
  /** Capability words in the server's own vocabulary (Ollama: completion, tools, vision, embedding). */
  capabilities?: string[]
  /** Loaded in memory (warm). Default true. */
  loaded?: boolean
}

/** Faults switched at run time by tests. Chat endpoints honour them. */
export interface Faults {
  /** Answer chat requests with this status and the server's own error body. */
  status?: number
  /** Only for the next N chat requests (then cleared). */
  statusCount?: number
  /** Retry-After seconds on the fault response. */
  retryAfter?: number
  /** Accept the chat request and never answer until the client aborts. */
  hangBeforeHeaders?: boolean
  /** Stream N chunks, then stall until the client aborts. */
  hangAfterChunks?: number
  /** Stream N chunks, then break the connection (no [DONE], no error event). */
  dieAfterChunks?: number
  /** After N chunks, send the server's own mid-stream error event. */
  midStreamError?: number
  /** Health probe endpoint answers this status. */
  healthStatus?: number
  /** gzip non-streaming JSON bodies (as a compressing reverse proxy would). */
  gzip?: boolean
}

export interface EmulatorStats {
  requests: number
  inFlight: number
  aborted: number
  completed: number
  byPath: Record<string, number>
  lastRequest?: { path: string; headers: Record<string, string>; body: string }
  /** Raw bodies of chat requests, most recent last (capped at 200). */
  bodies: string[]
}

export interface EmulatorOptions {
  port?: number
  hostname?: string
  models?: (string | EmulatorModel)[]
  /** Delay before the response starts (headers / first token), ms. */
  latencyMs?: number
  /** Content chunks in a streamed reply. */
  chunks?: number
  /** Delay between chunks, ms. */
  chunkDelayMs?: number
  reply?: string
  /** When set, enforce auth the way the server does. */
  apiKey?: string
  version?: string
}

export interface Emulator {
  kind: string
  url: string
  port: number
  stats: EmulatorStats
  faults: Faults
  models: EmulatorModel[]
  setModels(models: (string | EmulatorModel)[]): void
  stop(): Promise<void>
}
