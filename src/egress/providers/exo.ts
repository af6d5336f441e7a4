/**
 * exo: no health route, `/v1/models` is the whole catalogue with `context_length`
 * and capability words, but only models with a running instance can answer (others get
 * `404 No instance found`). `/ollama/api/ps` names the placed ones, so only those are
 * offered for routing; a model placed later appears at the next probe. Stream chunks are
 * labelled `chat.completion`, which we relabel.
 * @module
 */
import { ON_PREMISES } from "../../core/locality.ts"
import { relabelChunk } from "../sse-format.ts"
import { authHeaders, isObject, positiveInt, probeRequest, trimSlash } from "./http.ts"
import { defaultReadModel, openaiCompatible } from "./openai-compatible.ts"

declare module "../../core/backend.ts" {
  interface BackendTypeNames {
    exo: true
  }
}

export const exo = openaiCompatible({
  type: "exo",
  locality: ON_PREMISES,
  fixEvent: relabelChunk,
  readModel(entry) {
    const model = defaultReadModel(entry)
    if (!model) return model
    model.contextLength = positiveInt(entry.context_length)
    const words = Array.isArray(entry.capabilities) ? (entry.capabilities as unknown[]) : undefined
    if (words) {
      model.capabilities = {
        completion: words.includes("text"),
        vision: words.includes("vision"),
      }
    }
    return model
  },
  async enrich(backend, models, ctx) {
    const ps = await probeRequest(`${trimSlash(backend.url)}/ollama/api/ps`, { headers: authHeaders(backend), timeoutMs: ctx.timeoutMs })
    if (ps.status !== 200 || !isObject(ps.json) || !Array.isArray(ps.json.models)) return models
    const placed = new Set(ps.json.models.filter(isObject).map((m) => String(m.model ?? m.name)))
    return models.filter((m) => placed.has(m.id)).map((m) => ({ ...m, loaded: true }))
  },
})
