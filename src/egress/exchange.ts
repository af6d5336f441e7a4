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
import { rewriteModel } from "./transport/rewrite-model.ts"
import { askForUsage, clientWantsUsage, withoutUsageChunk } from "./stream-usage.ts"

export interface Exchange {
  url: string
  body: string
  credentials: Credentials
  /** The dialect of the answer once `toCanonical` (if any) has run. */
  dialect: Dialect
  /** The provider's stream quirk fix, applied to each SSE event. */
  fixEvent?: EventFix
  /** Reads a translating provider's answer as a canonical one. */
  toCanonical?(res: Response, ctx: { stream: boolean; model: string }): Response | Promise<Response>
}

export function exchangeFor(req: CanonicalRequest, backend: Backend, model: string): Exchange {
  const provider = providerFor(backend.type)
  const credentials: Credentials = { apiKey: backend.apiKey, auth: provider.auth, forwardClientAuth: provider.forwardClientAuth }
  const base = provider.apiBase(backend.url)
  const rewrite = (text: string) => (model === req.model ? text : rewriteModel(text, model))
  const native = req.path ? provider.native?.[req.dialect] : undefined
  if (native) {
    return { url: native(backend.url, req.path!), body: rewrite(req.raw), credentials, dialect: req.dialect }
  }
  if (provider.dialect === req.dialect) {
    const usage = provider.streamUsage ? askForUsage(req, rewrite(req.raw)) : undefined
    const fixEvent = usage?.drop ? withoutUsageChunk(provider.fixEvent) : provider.fixEvent
    return { url: `${base}${pathOf(provider, req)}`, body: usage?.body ?? rewrite(req.raw), credentials, dialect: req.dialect, fixEvent }
  }
  if (provider.dialect === "openai") {
    const url = `${base}${OPENAI_PATHS[req.operation]}`
    const usage = provider.streamUsage ? askForUsage(req, rewrite(req.canonical)) : undefined
    const fixEvent = usage?.drop ? withoutUsageChunk(provider.fixEvent) : provider.fixEvent
    return { url, body: usage?.body ?? rewrite(req.canonical), credentials, dialect: "openai", fixEvent }
  }
  if (provider.translate) {
    const { path, body } = provider.translate.request(req.body, model, req.operation)
    // Translators always end a stream with a usage chunk; the client may not want it.
    const fixEvent = req.stream && !clientWantsUsage(req.body) ? withoutUsageChunk() : undefined
    return { url: `${base}${path}`, body, credentials, dialect: "openai", toCanonical: provider.translate.response, fixEvent }
  }
  throw new NexusError({
    kind: "internal",
    message: `no translation from the ${req.dialect} dialect to ${provider.dialect} (${backend.name})`,
  })
}

function pathOf(provider: Provider, req: CanonicalRequest): string {
  return provider.path ? provider.path(req.operation) : OPENAI_PATHS[req.operation]
}
