/**
 * LocalAI: `/readyz` is 503 while it preloads; `/v1/models/capabilities` (2026+)
 * says what each model can do; `/system` lists the models loaded in memory.
 * @module
 */
import { ON_PREMISES } from "../../core/locality.ts"
import { authHeaders, dataArray, isObject, probeRequest, trimSlash } from "./http.ts"
import { openaiCompatible } from "./openai-compatible.ts"

declare module "../../core/backend.ts" {
  interface BackendTypeNames {
    localai: true
  }
}

export const localai = openaiCompatible({
  type: "localai",
  locality: ON_PREMISES,
  healthPath: "/readyz",
  readHealth(res) {
    if (res.status >= 200 && res.status < 300) return { status: "healthy" }
    if (res.status === 503) return { status: "loading", error: "startup preload in progress" }
    return { status: "unhealthy", error: `GET /readyz answered ${res.status}` }
  },
  async enrich(backend, models, ctx) {
    const headers = authHeaders(backend)
    const [res, system] = await Promise.all([
      probeRequest(`${trimSlash(backend.url)}/v1/models/capabilities`, { headers, timeoutMs: ctx.timeoutMs }),
      probeRequest(`${trimSlash(backend.url)}/system`, { headers, timeoutMs: ctx.timeoutMs }).catch(() => undefined),
    ])
    // Lazy loading: a model not in memory answers its first request after loading.
    if (system?.status === 200 && isObject(system.json) && Array.isArray(system.json.loaded_models)) {
      const loaded = new Set(system.json.loaded_models.filter(isObject).map((m) => String(m.id)))
      models = models.map((m) => ({ ...m, loaded: loaded.has(m.id) }))
    }
    if (res.status !== 200) return models
    const words = new Map<string, unknown[]>()
    for (const e of dataArray(res.json)) {
      if (typeof e.id === "string" && Array.isArray(e.capabilities)) words.set(e.id, e.capabilities)
    }
    return models.map((m) => {
      const w = words.get(m.id)
      if (!w) return m
      return {
        ...m,
        capabilities: {
          completion: w.includes("chat") || w.includes("completion"),
          tools: w.includes("tools"),
          embeddings: w.includes("embeddings"),
          vision: w.includes("vision"),
        },
      }
    })
  },
})
