/**
 * Shared shapes of the emulated backends. Each emulator is a real `Bun.serve` that
 * behaves on the wire like the server it stands for.
 */
import type { FleetSimOptions } from "./fleet.ts"

export interface EmulatorModel {
  id: string
  contextLength?: number
  /** Capability words in the server's own vocabulary (Ollama: completion, tools, vision, embedding). */
  capabilities?: string[]
  /** Loaded in memory (warm). Default true. */
  loaded?: boolean
  /** Size in memory when loaded, bytes (for the `fleet` simulation; default 2 GiB). */
  sizeBytes?: number
}

/** A call the emulated model makes when a request offers tools. */
export interface EmulatorToolCall {
  name: string
  arguments: Record<string, unknown>
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
  /** The mid-stream error event quotes the credential the request carried (Authorization or x-api-key). */
  echoKeyInError?: boolean
  /** Health probe endpoint answers this status. */
  healthStatus?: number
  /** Answer plain JSON even when the request asks for a stream (as some servers and proxies do). */
  ignoreStream?: boolean
  /** Stream even when the request asks for one JSON document (as a misconfigured proxy does). vLLM and OpenAI chat. */
  alwaysStream?: boolean
  /** Answer non-streaming chat with 200 and this body, which is not JSON (a proxy's page, a cut body). vLLM chat and responses. */
  invalidJson?: { body: string; contentType?: string }
  /** gzip non-streaming JSON bodies (as a compressing reverse proxy would). */
  gzip?: boolean
  /** The first piece of the reply is this many characters, sent as one event (a base64 image in one delta). */
  hugeFrameBytes?: number
  /** In place of the content, one line of this many bytes that never ends, then the body closes. */
  unterminatedBytes?: number
}

export interface EmulatorStats {
  requests: number
  /** Generation requests being worked on now (admitted, not yet finished or aborted). */
  inFlight: number
  /**
   * The most generation requests this server worked on at once: what a capacity limit in
   * front of it really let through. `resetPeak()` starts a new measurement.
   */
  peakInFlight: number
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
  /** Tool calls the model answers with when a request offers tools (default: none, it just talks). */
  toolCalls?: EmulatorToolCall[]
  /**
   * Act as an agent's model does: once the conversation ends with a tool result, answer
   * (the reply, then what the tool returned) instead of calling tools again; and call only
   * the configured tools the request offers (the first that matches).
   */
  toolRoundTrip?: boolean
  /**
   * A thinking model: it reasons this text before answering, unless the request switches
   * thinking off the server's way; the server streams it as its reasoning field.
   */
  reasoning?: string
  /** When set, enforce auth the way the server does. */
  apiKey?: string
  version?: string
  /**
   * The model's chat template raises on a system message anywhere but first, as Qwen's
   * newer templates do (`raise_exception('System message must be at the beginning.')`):
   * llama.cpp and vLLM then refuse the request with a 400. Off by default.
   */
  strictTemplate?: boolean
  /** Model a prompt (prefix) cache: see PrefixCacheOptions. Off by default. */
  prefixCache?: PrefixCacheOptions
  /** Simulate model residency (load time, memory, eviction, keep-alive): see FleetSimOptions. Off by default. */
  fleet?: FleetSimOptions
}

/**
 * A prompt cache as llama.cpp (`cache_prompt` slots), vLLM and SGLang (prefix caching) and
 * Ollama (the loaded context) keep one: the prompt is cut into blocks, each block keyed by
 * everything before it, and only the blocks after the first miss are processed again.
 * Time to first token grows with that uncached part. The cache is per server and bounded.
 */
export interface PrefixCacheOptions {
  /** Prefill time per 1,000 uncached prompt characters, ms. */
  msPerKChars: number
  /** Block size in characters (default 1,024). */
  blockChars?: number
  /** Blocks kept, least recently used evicted first (default 4,096). */
  maxBlocks?: number
}

export interface PrefixCacheState extends Required<PrefixCacheOptions> {
  /** Block keys, least recently used first. */
  blocks: Map<string, true>
  /** Prompt blocks found in the cache, and processed anew, over the server's life. */
  hitBlocks: number
  missBlocks: number
}

/**
 * Everything an emulator knows at run time, in one object that its routes read and tests
 * may change while it runs (faults, latency, models, what is loaded).
 */
export interface EmulatorState {
  stats: EmulatorStats
  faults: Faults
  models: EmulatorModel[]
  /** Delay before a generation starts (headers / first token), ms. */
  latencyMs: number
  chunks: number
  chunkDelayMs: number
  reply: string
  toolCalls: EmulatorToolCall[]
  toolRoundTrip: boolean
  reasoning?: string
  /** Loaded state changed at run time (a JIT load, an exo instance placed), over each model's `loaded`. */
  loaded: Map<string, boolean>
  /** The whole server is still starting up (loading its model). */
  loading: boolean
  /** The prompt cache, when this emulator models one. */
  prefixCache?: PrefixCacheState
  /** Sees every request as it arrives, before the server's own routing (the CLI logs them). */
  onRequest?: (req: Request, path: string) => void
  /** Die the way a killed server does: every connection cut, the port closed. */
  crash(): void
}

export interface Emulator {
  kind: string
  url: string
  port: number
  state: EmulatorState
  /** Shorthands for `state.stats` and `state.faults`. */
  stats: EmulatorStats
  faults: Faults
  models: EmulatorModel[]
  setModels(models: (string | EmulatorModel)[]): void
  /** Start a new peak-in-flight measurement from what is in flight now. */
  resetPeak(): void
  stop(): Promise<void>
}
