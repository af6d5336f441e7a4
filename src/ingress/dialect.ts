/**
 * Everything a client dialect brings to the gateway, in one value its folder exports: the
 * endpoints proxied to backends, the routes it answers itself, its error envelope, which
 * requests speak it, and its shape of the model list. The HTTP app mounts what the
 * registry (index.ts) lists and knows no dialect by name.
 * @module
 */
import type { Hono } from "hono"
import type { ApiKey } from "../core/api-key.ts"
import type { NexusError } from "../core/errors.ts"
import type { ContinuedConversation, Dialect, Requirements } from "../core/request.ts"
import type { ResponseStore } from "../persist/responses.ts"
import type { CatalogDeps, ModelEntry } from "./catalog.ts"
import type { IngressEndpoint } from "./types.ts"

/** What a dialect's own routes may read and set of the request being answered. */
export interface IngressScope {
  /** Errors from then on are rendered in this endpoint's dialect. */
  dialect: IngressEndpoint | undefined
  /** The client's API key, once checked (only when keys are required). */
  key: ApiKey | undefined
}

/** The Hono environment of a dialect's routes: the request's scope, set by the app. */
export type IngressEnv = { Variables: { scope: IngressScope } }

/** A prompt to count: the canonical request's fields counting needs. */
export interface Prompt {
  model: string
  requirements: Requirements
  canonical: Record<string, unknown>
  /** The kept answers it continues: their restriction holds for counting too. */
  continues?: ContinuedConversation
}

/**
 * What a dialect's own routes use of the gateway. Each route factory takes only the part
 * it reads (a `Pick` of this); the app builds the whole from its dependencies.
 */
export interface IngressDeps extends CatalogDeps {
  /** Responses Nexus keeps (previous_response_id, GET /v1/responses/{id}). */
  responses: ResponseStore
  /** The request's body as a JSON object, within the server's size and time limits. */
  readJson(req: Request): Promise<Record<string, unknown>>
  /**
   * The prompt's tokens counted by a backend that serves the model under the request's
   * policy and can count with its own tokenizer, and that backend's name (header-safe);
   * undefined when none can.
   */
  countPrompt(prompt: Prompt, headers: Headers, key?: ApiKey): Promise<{ tokens: number; backend: string } | undefined>
  /** The 404 for a continuation of responses Nexus does not hold. */
  notHeld(param: "previous_response_id" | "input"): NexusError
}

/** A dialect's shape of `GET /v1/models` and `GET /v1/models/{id}`. */
export interface ModelListShape {
  list(entries: readonly ModelEntry[], startedAt: number): unknown
  one(entry: ModelEntry, startedAt: number): unknown
}

export interface DialectModule {
  name: Dialect
  /** The routes proxied to a backend, by path. */
  endpoints: Readonly<Record<string, IngressEndpoint>>
  /** The endpoint whose envelope renders errors of the dialect's other routes. */
  errors: IngressEndpoint
  /**
   * Whether a request Nexus answers itself (or refuses) speaks this dialect, so its errors
   * and model list come in this dialect's shape. The first dialect of the registry that
   * claims a request has it; the canonical one claims none.
   */
  claims?(path: string, headers: Headers): boolean
  /** The routes the dialect answers itself, without a backend. */
  routes?(deps: IngressDeps): Hono<IngressEnv>
  models?: ModelListShape
}
