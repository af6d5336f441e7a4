/**
 * What Nexus knows about one request while answering it, whichever way it came in
 * (straight to a proxied route, or through the Hono app): its id, when it arrived and,
 * once known, the dialect its errors are rendered in and what it asked for.
 * @module
 */
import type { ApiKey } from "../core/api-key.ts"
import type { IngressEndpoint } from "../ingress/types.ts"

/** Client-supplied request ids are echoed only when they are short and printable. */
const SAFE_ID = /^[\w.:@/+=-]{1,128}$/

/** What the pipeline tells a waiting client when the first attempt's model must load. */
export interface ColdStart {
  backend: string
  model: string
  /** The learned load time there, ms, if any. */
  loadMs?: number
  /** Lift the server's idle timeout: this response stays quiet for long. */
  keepOpen(): void
}

export interface RequestScope {
  readonly req: Request
  readonly path: string
  readonly requestId: string
  /** performance.now() when the request arrived. */
  readonly started: number
  /** Set once the endpoint is known: errors from then on are rendered in its dialect. */
  dialect: IngressEndpoint | undefined
  /** What a proxied request asked for, once its body was decoded. */
  asked: { model: string; stream: boolean } | undefined
  /** Set once forward() owns the request's record, so the error path does not emit a second one. */
  recorded: boolean
  /** The client's API key, once checked (only when keys are required). */
  key: ApiKey | undefined
  /** The request holds one of its key's places in flight. */
  keySlot: boolean
  /** Set while a cold model may need loading: commits the client's stream early (cold-start.ts). */
  onCold?: (cold: ColdStart) => void
}

export function openScope(req: Request, path: string): RequestScope {
  const given = req.headers.get("x-request-id")
  return {
    req,
    path,
    requestId: given && SAFE_ID.test(given) ? given : crypto.randomUUID(),
    started: performance.now(),
    dialect: undefined,
    asked: undefined,
    recorded: false,
    key: undefined,
    keySlot: false,
  }
}
