/**
 * vLLM: `/health` is empty 200 (503 when the engine died); while loading the port
 * refuses connections. Context comes from `max_model_len`; capabilities are not exposed.
 * @module
 */
import { ON_PREMISES } from "../../core/locality.ts"
import { authHeaders, isObject, openaiBase, positiveInt, probeRequest, trimSlash } from "./http.ts"
import { defaultReadModel, openaiCompatible } from "./openai-compatible.ts"
import { templateSwitchAndEffort } from "./reasoning.ts"
import type { ProbeTarget } from "./types.ts"

declare module "../../core/backend.ts" {
  interface BackendTypeNames {
    vllm: true
  }
}

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

/**
 * vLLM counts exactly: `/tokenize` applies the model's chat template to the messages and
 * answers `{count, max_model_len, tokens}`.
 */
async function countTokens(target: ProbeTarget, body: Record<string, unknown>, timeoutMs: number): Promise<number | undefined> {
  const request = { model: body.model, messages: body.messages, add_generation_prompt: true, ...(body.tools ? { tools: body.tools } : {}) }
  const res = await probeRequest(`${trimSlash(target.url)}/tokenize`, { method: "POST", body: request, headers: authHeaders(target), timeoutMs })
  return res.status === 200 && isObject(res.json) && typeof res.json.count === "number" ? res.json.count : undefined
}

/** vLLM serves the Responses API itself (`/v1/responses`): those requests pass through. */
export const vllm = { ...compatible, native: { responses: (url: string) => `${openaiBase(url)}/responses` }, reasoning: templateSwitchAndEffort, countTokens }
