/**
 * LM Studio: no health route, so the model list is the probe. The REST API adds what
 * the OpenAI list leaves out: `/api/v1/models` (0.4+: capabilities.vision and
 * trained_for_tool_use, loaded instances with their context) or `/api/v0/models`
 * (type llm/vlm/embeddings, state, max/loaded context, capabilities ["tool_use"]).
 * @module
 */
import { ON_PREMISES } from "../../core/locality.ts"
import type { ModelInfo } from "../../core/backend.ts"
import { authHeaders, dataArray, isObject, positiveInt, probeRequest, trimSlash } from "./http.ts"
import { dataPayload } from "../sse-format.ts"
import { openaiCompatible } from "./openai-compatible.ts"
import type { Lifecycle, LifecycleResult, LifecycleTarget } from "../../fleet/lifecycle.ts"
import type { Provider } from "./types.ts"

declare module "../../core/backend.ts" {
  interface BackendTypeNames {
    lmstudio: true
  }
}

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

/** One entry of `/api/v1/models` (0.4+). */
export function readLmStudioV1Model(entry: Record<string, unknown>): ModelInfo | undefined {
  if (typeof entry.key !== "string") return undefined
  const instances = Array.isArray(entry.loaded_instances) ? entry.loaded_instances.filter(isObject) : []
  const loadedContext = instances.map((i) => (isObject(i.config) ? positiveInt(i.config.context_length) : undefined)).find((n) => n)
  const caps = isObject(entry.capabilities) ? entry.capabilities : undefined
  const embedding = entry.type === "embedding" || entry.type === "embeddings"
  return {
    id: entry.key,
    contextLength: loadedContext ?? positiveInt(entry.max_context_length),
    loaded: instances.length > 0,
    sizeBytes: positiveInt(entry.size_bytes),
    ownedBy: typeof entry.publisher === "string" ? entry.publisher : "organization_owner",
    capabilities: {
      embeddings: embedding,
      completion: !embedding,
      vision: caps ? caps.vision === true : embedding ? false : undefined,
      tools: caps ? caps.trained_for_tool_use === true : embedding ? false : undefined,
    },
  }
}

async function richModels(url: string, headers: Record<string, string>, timeoutMs: number): Promise<Map<string, ModelInfo>> {
  const rich = new Map<string, ModelInfo>()
  const v1 = await probeRequest(`${url}/api/v1/models`, { headers, timeoutMs }).catch(() => undefined)
  if (v1?.status === 200 && isObject(v1.json) && Array.isArray(v1.json.models)) {
    for (const entry of v1.json.models.filter(isObject)) {
      const m = readLmStudioV1Model(entry)
      if (m) rich.set(m.id, m)
    }
    if (rich.size) return rich
  }
  const v0 = await probeRequest(`${url}/api/v0/models`, { headers, timeoutMs })
  if (v0.status !== 200) return rich
  for (const entry of dataArray(v0.json)) {
    const m = readLmStudioModel(entry)
    if (m) rich.set(m.id, m)
  }
  return rich
}

/** Before 0.3.18 a stream error is `{"error":"text"}`; SDKs expect the OpenAI object. */
function fixStringError(event: string): string | undefined {
  const payload = dataPayload(event)
  if (!payload?.includes('"error"')) return undefined
  try {
    const body = JSON.parse(payload) as { error?: unknown }
    if (typeof body.error !== "string") return undefined
    return `data: ${JSON.stringify({ error: { message: body.error, type: "upstream_error", param: null, code: null } })}`
  } catch {
    return undefined
  }
}

/** One of the 0.4+ REST model operations; its error shapes are not documented, so any `error` text is read. */
async function rest(t: LifecycleTarget, op: "load" | "unload", body: Record<string, unknown>, timeoutMs: number): Promise<LifecycleResult> {
  try {
    const res = await probeRequest(`${trimSlash(t.url)}/api/v1/models/${op}`, { method: "POST", body, headers: authHeaders(t), timeoutMs })
    // Before 0.4 the route does not exist: the catch-all answers 200 with an error string.
    if (res.status === 200 && isObject(res.json) && res.json.error === undefined) return { ok: true }
    const error = isObject(res.json) ? res.json.error : undefined
    const text = typeof error === "string" ? error : isObject(error) && typeof error.message === "string" ? error.message : `HTTP ${res.status}`
    return { ok: false, error: text, unsupported: /unexpected endpoint/i.test(text) || undefined }
  } catch (err) {
    return { ok: false, error: (err as Error).message }
  }
}

/**
 * `POST /api/v1/models/load {model}` answers once loaded; `/unload` takes the instance id,
 * which for a model loaded once is its key. A load of a model already loaded would load a
 * second instance, so the caller loads only what is not loaded. No keep-alive parameter.
 */
const lifecycle: Lifecycle = {
  load: (t, model, req) => rest(t, "load", { model }, req.timeoutMs),
  unload: (t, model, req) => rest(t, "unload", { instance_id: model }, req.timeoutMs),
}

const compatible = openaiCompatible({
  type: "lmstudio",
  aliases: ["lm-studio", "lm_studio"],
  locality: ON_PREMISES,
  fixEvent: fixStringError,
  async enrich(backend, models, ctx) {
    const rich = await richModels(trimSlash(backend.url), authHeaders(backend), ctx.timeoutMs)
    return models.map((m) => rich.get(m.id) ?? m)
  },
})

export const lmstudio: Provider = { ...compatible, lifecycle }
