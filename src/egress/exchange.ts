/**
 * What one attempt sends and how its answer is read, decided once per attempt. When the
 * client's dialect is the provider's, the client's bytes go out untouched (only the
 * model may be rewritten) and the answer comes back as the provider's own bytes, with
 * its quirks fixed. A provider that speaks another dialect would translate here.
 * @module
 */
import type { Backend } from "../core/backend.ts"
import { NexusError } from "../core/errors.ts"
import { OPENAI_PATHS, type CanonicalRequest } from "../core/request.ts"
import { providerFor } from "./providers/index.ts"
import type { EventFix } from "./providers/types.ts"
import { rewriteModel } from "./transport/rewrite-model.ts"

export interface Exchange {
  url: string
  body: string
  /** The provider's stream quirk fix, applied to each SSE event. */
  fixEvent?: EventFix
}

export function exchangeFor(req: CanonicalRequest, backend: Backend, model: string): Exchange {
  const provider = providerFor(backend.type)
  if (provider.dialect !== req.dialect) {
    throw new NexusError({
      kind: "internal",
      message: `no translation from the ${req.dialect} dialect to ${provider.dialect} (${backend.name})`,
    })
  }
  return {
    url: `${provider.apiBase(backend.url)}${OPENAI_PATHS[req.operation]}`,
    body: model === req.model ? req.raw : rewriteModel(req.raw, model),
    fixEvent: provider.fixEvent,
  }
}
