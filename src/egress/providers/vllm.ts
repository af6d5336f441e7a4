/**
 * vLLM: `/health` is empty 200 (503 when the engine died); while loading the port
 * refuses connections. Context comes from `max_model_len`; capabilities are not exposed.
 * @module
 */
import { positiveInt } from "./http.ts"
import { defaultReadModel, openaiCompatible } from "./openai-compatible.ts"

export const vllm = openaiCompatible({
  type: "vllm",
  healthPath: "/health",
  readModel(entry) {
    const model = defaultReadModel(entry)
    if (model) model.contextLength = positiveInt(entry.max_model_len)
    return model
  },
})
