/**
 * Ollama: models from `/api/tags`, capabilities and context length from the tag
 * list (v0.30+) or `/api/show` (cached per digest, so a probe costs two calls, not N+2),
 * warm state from `/api/ps`. Requests go to its OpenAI layer under `/v1`.
 * @module
 */
import { ON_PREMISES } from "../../core/locality.ts"
import type { ModelCapabilities, ModelInfo } from "../../core/backend.ts"
import { authHeaders, isObject, positiveInt, probeRequest, trimSlash } from "./http.ts"
import { reasoningEffort } from "./reasoning.ts"
import type { Lifecycle, LifecycleResult } from "../../fleet/lifecycle.ts"
import type { Provider, ProbeContext } from "./types.ts"

declare module "../../core/backend.ts" {
  interface BackendTypeNames {
    ollama: true
  }
}

interface ShowFacts {
  contextLength?: number
  capabilities?: string[]
}

/** Map Ollama's capability words onto ours. Absent words are "known no" only when the list exists. */
export function ollamaCapabilities(words: string[] | undefined): ModelCapabilities {
  if (!words) return {}
  const has = (w: string) => words.includes(w)
  const completion = has("completion")
  return {
    completion,
    vision: has("vision"),
    tools: has("tools"),
    embeddings: has("embedding"),
    // Ollama honours `format`/`response_format` for every completion model.
    json_mode: completion ? true : undefined,
  }
}

function contextFromModelInfo(info: unknown): number | undefined {
  if (!isObject(info)) return undefined
  const arch = info["general.architecture"]
  if (typeof arch === "string") {
    const n = positiveInt(info[`${arch}.context_length`])
    if (n) return n
  }
  for (const [k, v] of Object.entries(info)) {
    if (k.endsWith(".context_length")) return positiveInt(v)
  }
  return undefined
}

async function show(base: string, model: string, headers: Record<string, string>, ctx: ProbeContext): Promise<ShowFacts> {
  const res = await probeRequest(`${base}/api/show`, {
    method: "POST",
    body: { model },
    headers,
    timeoutMs: ctx.timeoutMs,
  })
  if (res.status !== 200 || !isObject(res.json)) return {}
  const caps = res.json.capabilities
  return {
    contextLength: contextFromModelInfo(res.json.model_info),
    capabilities: Array.isArray(caps) ? caps.filter((c): c is string => typeof c === "string") : undefined,
  }
}

/**
 * `/api/generate` without a prompt loads the model and holds it for `keep_alive`
 * (seconds; negative: forever); `keep_alive: 0` unloads it. Both answer when done.
 */
async function generateKeepAlive(base: string, headers: Record<string, string>, model: string, keepAlive: number | undefined, timeoutMs: number): Promise<LifecycleResult> {
  const body = { model, stream: false, ...(keepAlive === undefined ? {} : { keep_alive: keepAlive }) }
  try {
    const res = await probeRequest(`${base}/api/generate`, { method: "POST", body, headers, timeoutMs })
    if (res.status === 200) return { ok: true }
    const error = isObject(res.json) && typeof res.json.error === "string" ? res.json.error : `HTTP ${res.status}`
    return { ok: false, error }
  } catch (err) {
    return { ok: false, error: (err as Error).message }
  }
}

/** A keep-alive in Ollama's terms: whole seconds, -1 for forever; undefined leaves the server's default. */
function keepAliveSeconds(ms: number | undefined): number | undefined {
  if (ms === undefined) return undefined
  return ms < 0 ? -1 : Math.ceil(ms / 1000)
}

const lifecycle: Lifecycle = {
  keepAlive: true,
  load: (t, model, req) => generateKeepAlive(trimSlash(t.url), authHeaders(t), model, keepAliveSeconds(req.keepAliveMs), req.timeoutMs),
  unload: (t, model, req) => generateKeepAlive(trimSlash(t.url), authHeaders(t), model, 0, req.timeoutMs),
}

export const ollama: Provider = {
  lifecycle,
  type: "ollama",
  locality: ON_PREMISES,
  dialect: "openai",
  apiBase: (url) => `${trimSlash(url)}/v1`,
  // Ollama clients' /api/chat, /api/generate, /api/embed… go to the same route as they are.
  native: { ollama: (url, path) => `${trimSlash(url)}${path}` },
  reasoning: reasoningEffort,

  async probe(backend, ctx) {
    const base = trimSlash(backend.url)
    const headers = authHeaders(backend)
    let tags
    try {
      tags = await probeRequest(`${base}/api/tags`, { headers, timeoutMs: ctx.timeoutMs })
    } catch (err) {
      return { status: "unhealthy", error: (err as Error).message }
    }
    if (tags.status !== 200 || !isObject(tags.json) || !Array.isArray(tags.json.models)) {
      return { status: "unhealthy", error: `GET /api/tags answered ${tags.status}` }
    }

    // Loaded models: the memory each holds, how much of it on the GPU, and when it expires.
    const loaded = new Map<string, { vram?: number; size?: number; expiresAt?: number }>()
    const ps = await probeRequest(`${base}/api/ps`, { headers, timeoutMs: ctx.timeoutMs }).catch(() => undefined)
    if (ps && isObject(ps.json) && Array.isArray(ps.json.models)) {
      for (const m of ps.json.models) {
        if (!isObject(m) || typeof m.name !== "string") continue
        const expires = typeof m.expires_at === "string" ? Date.parse(m.expires_at) : Number.NaN
        loaded.set(m.name, { vram: positiveInt(m.size_vram), size: positiveInt(m.size), expiresAt: Number.isNaN(expires) ? undefined : expires })
      }
    }

    const models: ModelInfo[] = []
    for (const entry of tags.json.models) {
      if (!isObject(entry)) continue
      const id = typeof entry.name === "string" ? entry.name : typeof entry.model === "string" ? entry.model : undefined
      if (!id) continue
      const details = isObject(entry.details) ? entry.details : {}
      let words = Array.isArray(entry.capabilities) ? (entry.capabilities as string[]) : undefined
      let contextLength = positiveInt(details.context_length)
      if (!words || !contextLength) {
        // Older Ollama: ask /api/show once per digest and remember the answer.
        const key = `show:${id}:${String(entry.digest ?? "")}`
        let facts = ctx.cache.get(key) as ShowFacts | undefined
        if (!facts) {
          facts = await show(base, id, headers, ctx).catch(() => ({}) as ShowFacts)
          if (facts.capabilities || facts.contextLength) ctx.cache.set(key, facts)
        }
        words ??= facts.capabilities
        contextLength ??= facts.contextLength
      }
      const resident = loaded.get(id)
      models.push({
        id,
        contextLength,
        capabilities: ollamaCapabilities(words),
        loaded: resident !== undefined,
        vramBytes: resident?.vram,
        sizeBytes: resident?.size ?? positiveInt(entry.size),
        expiresAt: resident?.expiresAt,
        ownedBy: id.includes("/") ? id.split("/")[0] : "library",
      })
    }
    return { status: "healthy", models }
  },
}
