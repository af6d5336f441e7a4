/**
 * What one attempt sends and how its answer is read, decided once per attempt:
 * - the provider speaks the client's dialect: the client's bytes go out untouched (only
 *   the model may be rewritten) and the answer comes back as the provider's own bytes;
 * - the provider speaks the canonical (OpenAI) dialect: the canonical request goes out,
 *   and the client's dialect encodes the answer;
 * - otherwise the provider's translator turns the canonical request into its dialect and
 *   its answer back into a canonical one.
 * @module
 */
import type { Backend } from "../core/backend.ts"
import { NexusError } from "../core/errors.ts"
import { OPENAI_PATHS, type CanonicalRequest, type Dialect } from "../core/request.ts"
import { providerFor } from "./providers/index.ts"
import type { EventFix, Provider } from "./providers/types.ts"
import type { Credentials } from "./transport/headers.ts"
import { rewriteModel, rewriteNumber } from "./transport/rewrite-model.ts"
import { askForUsage, clientWantsUsage, withoutUsageChunk } from "./stream-usage.ts"
import { CANONICAL_WIRE, type DialectWire } from "../core/dialect-wire.ts"

export interface Exchange {
  url: string
  body: string
  credentials: Credentials
  /** The dialect of the answer once `toCanonical` (if any) has run. */
  dialect: Dialect
  /** The client's bytes go to the server's own route for the client's dialect. */
  native?: boolean
  /** The provider's stream quirk fix, applied to each SSE event. */
  fixEvent?: EventFix
  /** Reads a translating provider's answer as a canonical one. */
  toCanonical?(res: Response, ctx: { stream: boolean; model: string; maxFrameBytes?: number }): Response | Promise<Response>
}

/**
 * `clamp`: the output budget the chosen model has room for, when the client asked for
 * more; `wire`: the client dialect's, for a body sent in it.
 */
export function exchangeFor(req: CanonicalRequest, backend: Backend, model: string, clamp: number | undefined, wire: DialectWire): Exchange {
  const provider = providerFor(backend.type)
  const credentials: Credentials = { apiKey: backend.apiKey, auth: provider.auth, forwardClientAuth: provider.forwardClientAuth }
  const base = provider.apiBase(backend.url)
  const rewrite = (text: string, keys = wire.budgetKeys) => rewritten(text, model === req.model ? undefined : model, clamp, keys)
  const native = req.path ? provider.native?.[req.dialect] : undefined
  // Not to a server that lacks the route after all, nor with a conversation only Nexus holds.
  if (native && req.native !== "never" && !backend.lacksNative?.has(req.dialect)) {
    return { url: native(backend.url, req.path!), body: rewrite(req.raw), credentials, dialect: req.dialect, native: true }
  }
  if (typeof req.native === "object") throw notHeld(backend, req.native.only)
  if (provider.dialect === req.dialect) {
    return { url: `${base}${pathOf(provider, req)}`, ...withStreamUsage(req, provider, rewrite(req.raw)), credentials, dialect: req.dialect }
  }
  if (provider.dialect === "openai") {
    const url = `${base}${OPENAI_PATHS[req.operation]}`
    return { url, ...withStreamUsage(req, provider, rewrite(withReasoning(req, provider), CANONICAL_WIRE.budgetKeys)), credentials, dialect: "openai" }
  }
  if (provider.translate) {
    const canonical = clamp === undefined ? req.body : { ...req.body, max_tokens: clamp }
    const { path, body } = provider.translate.request(canonical, model, req.operation)
    // Translators always end a stream with a usage chunk; the client may not want it.
    const fixEvent = req.stream && !clientWantsUsage(req.body) ? withoutUsageChunk() : undefined
    return { url: `${base}${path}`, body, credentials, dialect: "openai", toCanonical: provider.translate.response, fixEvent }
  }
  throw new NexusError({
    kind: "internal",
    message: `no translation from the ${req.dialect} dialect to ${provider.dialect} (${backend.name})`,
  })
}

/**
 * A conversation that continues a response (or item) Nexus does not hold, on a backend
 * whose server cannot hold it either: nobody has it. OpenAI's own answer to an unknown id.
 */
export function notHeld(backend: Backend | undefined, param: "previous_response_id" | "input"): NexusError {
  const what = param === "input" ? "Item not found: an item_reference in input names an item Nexus does not keep" : "Previous response not found: Nexus does not keep it"
  const server = backend ? `, and ${backend.name} (which answers this model) keeps no responses of its own` : ""
  return new NexusError({
    kind: "not_found",
    message: `${what}${server}.`,
    code: param === "input" ? "item_not_found" : "previous_response_not_found",
    param,
  })
}

/**
 * The body as sent, and the provider's event fix: a provider that reports a stream's usage
 * only when asked is asked, and the usage chunk the client did not ask for is dropped.
 */
function withStreamUsage(req: CanonicalRequest, provider: Provider, body: string): { body: string; fixEvent?: EventFix } {
  const usage = provider.streamUsage ? askForUsage(req, body) : undefined
  return { body: usage?.body ?? body, fixEvent: usage?.drop ? withoutUsageChunk(provider.fixEvent) : provider.fixEvent }
}

/** The canonical body with the fields that carry the client's reasoning wishes to this provider. */
function withReasoning(req: CanonicalRequest, provider: Provider): string {
  const fields = req.reasoning && provider.reasoning?.(req.reasoning)
  return fields ? JSON.stringify({ ...req.body, ...fields }) : req.canonical
}

/** The body with the chosen model's name and the output budget it has room for. */
function rewritten(text: string, model: string | undefined, clamp: number | undefined, budgetKeys: readonly string[]): string {
  const named = model === undefined ? text : rewriteModel(text, model)
  return clamp === undefined ? named : rewriteNumber(named, budgetKeys, clamp)
}

function pathOf(provider: Provider, req: CanonicalRequest): string {
  return provider.path ? provider.path(req.operation) : OPENAI_PATHS[req.operation]
}
