/**
 * vLLM: `/health` is empty 200 (503 when the engine died); while loading the port
 * refuses connections. Context comes from `max_model_len`; capabilities are not exposed.
 * @module
 */
import { ON_PREMISES } from "../../core/locality.ts"
import { openaiBase, positiveInt } from "./http.ts"
import { defaultReadModel, openaiCompatible } from "./openai-compatible.ts"
import { templateSwitchAndEffort } from "./reasoning.ts"

const compatible = openaiCompatible({
  type: "vllm",
  locality: ON_PREMISES,
  healthPath: "/health",
  readModel(entry) {
    const model = defaultReadModel(entry)
    if (model) model.contextLength = positiveInt(entry.max_model_len)
    return model
  },
})

/** vLLM serves the Responses API itself (`/v1/responses`): those requests pass through. */
export const vllm = { ...compatible, native: { responses: (url: string) => `${openaiBase(url)}/responses` }, reasoning: templateSwitchAndEffort }
