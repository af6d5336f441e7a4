/**
 * What every provider knows how to do: find out whether its server is up, list its
 * models with what it can tell about them, say where its API lives and in which dialect,
 * and fix the quirks of its own stream. Translation between dialects plugs in here too.
 * @module
 */
import type { BackendInit, BackendType, ModelInfo } from "../../core/backend.ts"
import type { Locality } from "../../core/locality.ts"
import type { Dialect, Operation, Reasoning } from "../../core/request.ts"
import type { Lifecycle } from "../../fleet/lifecycle.ts"

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

/**
 * How a provider that does not speak the canonical (OpenAI) dialect is sent a canonical
 * request, and how its answer is read back as a canonical one.
 */
export interface Translator {
  /** The request in the provider's dialect: path below `apiBase`, and body. */
  request(body: Record<string, unknown>, model: string, operation: Operation): { path: string; body: string }
  /** The provider's answer (a stream when `stream`) as an OpenAI answer, streamed as it arrives. */
  response(res: Response, ctx: { stream: boolean; model: string; maxFrameBytes?: number }): Response | Promise<Response>
}

export interface Provider {
  type: BackendType
  /** Other spellings of `type` a configuration may use (other tools' names for it), lower-case. */
  aliases?: readonly string[]
  /**
   * Whether its servers are a cloud (open zone by default) and its default URL. Required:
   * a provider cannot land in the restricted zone by leaving it out.
   */
  locality: Locality
  /** The API dialect the server speaks natively. */
  dialect: Dialect
  /** Base of the server's API in that dialect, without a trailing slash (`http://h:11434/v1`). */
  apiBase(url: string): string
  /** Path below `apiBase` for an operation in the provider's own dialect (default: OpenAI's). */
  path?(operation: Operation): string
  probe(target: ProbeTarget, ctx: ProbeContext): Promise<ProbeResult>
  /** This server's stream quirks, fixed on the way through (only events that need it change). */
  fixEvent?: EventFix
  /** Headers that carry the configured key (default `Authorization: Bearer <key>`). */
  auth?(key: string): Record<string, string>
  /**
   * Whether a client's own credentials may go to this server when no key is configured
   * (a LAN server started with --api-key). Cloud providers say no: only our key is sent.
   */
  forwardClientAuth?: boolean
  /**
   * Streams report usage only when asked (`stream_options.include_usage`): ask, so spend
   * is counted from what the provider bills, and drop the extra chunk the client did not ask for.
   */
  streamUsage?: boolean
  /** Present when `dialect` is not the canonical one. */
  translate?: Translator
  /**
   * Other client dialects the server speaks natively, with the URL for a client's path
   * (Ollama's `/api/chat`, vLLM's `/v1/responses`): those clients' bytes pass through.
   */
  native?: Partial<Record<Dialect, (url: string, clientPath: string) => string>>
  /**
   * The request fields that carry a client's reasoning wishes to this server, for
   * clients whose dialect has them in other terms (Anthropic's `thinking`).
   */
  reasoning?(r: Reasoning): Record<string, unknown> | undefined
  /** Loading and unloading models, for servers that manage residency (else always loaded). */
  lifecycle?: Lifecycle
  /** The exact prompt tokens of a canonical chat body, for servers that can count them. */
  countTokens?(target: ProbeTarget, body: Record<string, unknown>, timeoutMs: number): Promise<number | undefined>
}
