/**
 * The canonical request: what every client dialect decodes into and every provider
 * receives. Its shape is the OpenAI one the gateway already speaks, kept as the raw
 * body text too, so that when the client's dialect equals the provider's the bytes go
 * out untouched (only the model name may be rewritten).
 * @module
 */
import type { ApiKey } from "./api-key.ts"

/**
 * The names of the wire dialects on both sides of the gateway. Each dialect adds its own
 * name from its folder (`declare module` in src/ingress/<dialect>/index.ts), so a new
 * dialect needs no edit here and tables keyed by dialect still list every one.
 */
export interface DialectNames {}

/** A wire dialect: OpenAI Chat Completions (canonical), Anthropic Messages, Ollama, OpenAI Responses, ... */
export type Dialect = keyof DialectNames & string

/** Which operation: the OpenAI endpoint it maps to. */
export type Operation = "chat" | "completions" | "embeddings"

/** What a request needs from a model; the router filters on it. */
export interface Requirements {
  vision: boolean
  tools: boolean
  jsonMode: boolean
  embeddings: boolean
  /** Rough prompt + completion size, to compare with the context window. */
  estimatedTokens: number
  /**
   * Set by dialects that separate them: the prompt's rough size and the output budget the
   * client asked for. Routing then needs only the prompt plus a minimum output, and the
   * budget is clamped to what the chosen model has left (core/output-budget.ts).
   */
  promptTokens?: number
  /** `promptTokens` is a backend's exact count (its own template and tokenizer), not an estimate. */
  promptCounted?: boolean
  maxTokens?: number
}

/**
 * What the client asked of the model's reasoning, in no backend's terms: each provider
 * that has a switch for it (a reasoning effort, a chat-template flag) maps it to its own.
 */
export interface Reasoning {
  /** Thinking switched on or off; undefined when the client set only an effort. */
  enabled?: boolean
  effort?: "low" | "medium" | "high"
  /** Whether the client wants the reasoning text back (Anthropic's `display: "omitted"` says no). */
  show: boolean
}

/**
 * Who holds the conversation a request continues decides where it can go: "never" to a
 * server's own route when Nexus holds it (Nexus rebuilds it by translating), and only
 * there when Nexus does not (`only` names the field that refers to it: a backend that
 * cannot hold it answers OpenAI's 404 naming that field).
 */
export type NativeConstraint = "never" | { only: "previous_response_id" | "input" }

/** The earlier answers a request continues, as privacy sees them. */
export interface ContinuedConversation {
  restricted: boolean
  models: string[]
}

export interface CanonicalRequest {
  /** The dialect the client spoke, so answers and errors go back in it. */
  dialect: Dialect
  operation: Operation
  /** The path the client called (a provider that speaks the client's dialect serves the same one). */
  path?: string
  /** The model the client asked for (before aliases and fallbacks). */
  model: string
  /**
   * What the router resolves `model` to (aliases, `:latest`): the model policy is decided
   * on. Set once, before the policy stages run.
   */
  resolved: string
  stream: boolean
  /** The client's body as received: forwarded as is when the provider speaks its dialect. */
  raw: string
  /** The request in the canonical (OpenAI) shape, parsed; the client's own body when it spoke OpenAI. */
  body: Record<string, unknown>
  /** The canonical request as text: `raw` itself when the client spoke OpenAI. */
  canonical: string
  requirements: Requirements
  /** Set when the client asked for (or against) reasoning. */
  reasoning?: Reasoning
  /** Sent to the queue first when capacity is short. */
  priority: "high" | "normal"
  /** Which backends can serve a request that continues earlier responses; undefined: any. */
  native?: NativeConstraint
  /**
   * Set when the request continues answers Nexus keeps (a Responses conversation): whether
   * any of them was restricted, and the models that gave them (restricted too when their
   * policy now says so). The privacy stage restricts the request accordingly.
   */
  continues?: ContinuedConversation
  /** Set by the privacy stage when the request is restricted: an answer kept for later remembers it. */
  restricted?: boolean
  /** What the client dialect's encoder needs from its decoder (opaque to everyone else). */
  carry?: unknown
  /** Client headers (credentials are never forwarded to a backend that has its own key). */
  headers: Headers
  requestId: string
  /** The client's API key, when keys are required. */
  key?: ApiKey
  /**
   * The tier policy decided this request needs, kept (by the tier stage) only when the
   * client opted into a lower one: its answer then says whether it got one.
   */
  tier?: number
}

/** The path below a provider's API base for each operation, in the OpenAI dialect. */
export const OPENAI_PATHS: Readonly<Record<Operation, string>> = {
  chat: "/chat/completions",
  completions: "/completions",
  embeddings: "/embeddings",
}
