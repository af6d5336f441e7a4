/**
 * LM Studio: no health route, so the model list is the probe. `/api/v0/models`
 * adds type (llm/vlm/embeddings), load state and context; `/v1/models` is the fallback.
 * @module
 */
import type { ModelInfo } from "../registry/types.ts"
import { authHeaders, dataArray, positiveInt, probeRequest, trimSlash } from "./http.ts"
import { openaiCompatible } from "./openai-compatible.ts"

export function readLmStudioModel(entry: Record<string, unknown>): ModelInfo | undefined {
  if (typeof entry.id !== "string") return undefined
  const type = entry.type
  const caps = Array.isArray(entry.capabilities) ? entry.capabilities : undefined
  return {
    id: entry.id,
    contextLength: positiveInt(entry.loaded_context_length) ?? positiveInt(entry.max_context_length),
    loaded: entry.state === "loaded" ? true : entry.state === "not-loaded" ? false : undefined,
    ownedBy: typeof entry.publisher === "string" ? entry.publisher : "organization_owner",
    capabilities: {
      vision: type === "vlm" ? true : type === "llm" ? false : undefined,
      embeddings: type === "embeddings" ? true : type ? false : undefined,
      completion: type === "embeddings" ? false : type ? true : undefined,
      tools: caps ? caps.includes("tool_use") : undefined,
    },
  }
}

export const lmstudio = openaiCompatible({
  type: "lmstudio",
  async enrich(backend, models, ctx) {
    const res = await probeRequest(`${trimSlash(backend.url)}/api/v0/models`, {
      headers: authHeaders(backend),
      timeoutMs: ctx.timeoutMs,
    })
    if (res.status !== 200) return models
    const rich = new Map<string, ModelInfo>()
    for (const entry of dataArray(res.json)) {
      const m = readLmStudioModel(entry)
      if (m) rich.set(m.id, m)
    }
    return models.map((m) => rich.get(m.id) ?? m)
  },
})
