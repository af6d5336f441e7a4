/**
 * exo: no health route, `/v1/models` is the whole catalogue with `context_length`
 * and capability words; only models with a running instance can answer.
 * @module
 */
import { positiveInt } from "./http.ts"
import { defaultReadModel, openaiCompatible } from "./openai-compatible.ts"

export const exo = openaiCompatible({
  type: "exo",
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
})
