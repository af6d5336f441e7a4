/**
 * llama.cpp server: 503 "Loading model" on every path while it loads (that is
 * "loading", not "dead"); context from `meta.n_ctx` or `/props`, vision and tools
 * from `/props`.
 * @module
 */
import { ON_PREMISES } from "../../core/locality.ts"
import type { ModelInfo } from "../../core/backend.ts"
import { authHeaders, dataArray, isObject, positiveInt, probeRequest, trimSlash, type ProbeResponse } from "./http.ts"
import { defaultReadModel, openaiCompatible, type HealthVerdict } from "./openai-compatible.ts"
import { templateSwitch } from "./reasoning.ts"
import type { ProbeTarget, Provider } from "./types.ts"
import type { Lifecycle, LifecycleResult, LifecycleTarget } from "../../fleet/lifecycle.ts"

declare module "../../core/backend.ts" {
  interface BackendTypeNames {
    llamacpp: true
  }
}

/** 503 while loading is reported as JSON by llama.cpp and by llamafile's fork of it. */
export function readLlamaHealth(res: ProbeResponse): HealthVerdict {
  if (res.status >= 200 && res.status < 300) return { status: "healthy" }
  const body = res.json
  const message = isObject(body)
    ? isObject(body.error)
      ? String(body.error.message ?? "")
      : String(body.status ?? "")
    : res.text
  if (res.status === 503 && /loading/i.test(message)) return { status: "loading", error: message }
  return { status: "unhealthy", error: `health check answered ${res.status}${message ? `: ${message}` : ""}` }
}

export function readLlamaModel(entry: Record<string, unknown>): ModelInfo | undefined {
  const model = defaultReadModel(entry)
  if (model && isObject(entry.meta)) {
    model.contextLength = positiveInt(entry.meta.n_ctx) ?? positiveInt(entry.meta.n_ctx_train)
    model.sizeBytes = positiveInt(entry.meta.size)
  }
  // Router mode lists each model's state; a server started with one model serves it loaded.
  const state = routerStatus(entry)
  if (model && state) model.loaded = state === "loaded"
  return model
}

function routerStatus(entry: Record<string, unknown>): string | undefined {
  return isObject(entry.status) && typeof entry.status.value === "string" ? entry.status.value : undefined
}

const compatible = openaiCompatible({
  type: "llamacpp",
  aliases: ["llama.cpp", "llama_cpp", "llama-cpp"],
  locality: ON_PREMISES,
  healthPath: "/health",
  readHealth: readLlamaHealth,
  readModel: readLlamaModel,
  async enrich(backend, models, ctx) {
    const res = await probeRequest(`${trimSlash(backend.url)}/props`, {
      headers: authHeaders(backend),
      timeoutMs: ctx.timeoutMs,
    })
    if (res.status !== 200 || !isObject(res.json)) return models
    const props = res.json
    const settings = isObject(props.default_generation_settings) ? props.default_generation_settings : {}
    // /props n_ctx is already per slot: the window one request really gets.
    const nCtx = positiveInt(settings.n_ctx)
    const vision = isObject(props.modalities) ? props.modalities.vision === true : undefined
    const caps = isObject(props.chat_template_caps) ? props.chat_template_caps : undefined
    const tools = caps ? caps.supports_tool_calls === true || caps.supports_tools === true : undefined
    return models.map((m) => ({
      ...m,
      contextLength: nCtx ?? m.contextLength,
      loaded: m.loaded ?? true,
      capabilities: { ...m.capabilities, vision, tools, completion: true },
    }))
  },
})

/**
 * llama.cpp counts exactly: the model's own chat template (`/apply-template`), then its
 * tokenizer (`/tokenize`).
 */
async function countTokens(target: ProbeTarget, body: Record<string, unknown>, timeoutMs: number): Promise<number | undefined> {
  const base = trimSlash(target.url)
  const headers = authHeaders(target)
  const templated = await probeRequest(`${base}/apply-template`, { method: "POST", body: { messages: body.messages, ...(body.tools ? { tools: body.tools } : {}) }, headers, timeoutMs })
  if (templated.status !== 200 || !isObject(templated.json) || typeof templated.json.prompt !== "string") return undefined
  const tokens = await probeRequest(`${base}/tokenize`, { method: "POST", body: { content: templated.json.prompt }, headers, timeoutMs })
  return tokens.status === 200 && isObject(tokens.json) && Array.isArray(tokens.json.tokens) ? tokens.json.tokens.length : undefined
}

/** A router's error message, or the HTTP status. */
function errorText(res: ProbeResponse): string {
  return isObject(res.json) && isObject(res.json.error) && typeof res.json.error.message === "string" ? res.json.error.message : `HTTP ${res.status}`
}

const LOAD_POLL_MS = 100

/** Router mode loads in the background: watch `/models` until the model is loaded (or failed). */
async function untilLoaded(t: LifecycleTarget, model: string, deadline: number): Promise<LifecycleResult> {
  while (performance.now() < deadline) {
    const res = await probeRequest(`${trimSlash(t.url)}/models`, { headers: authHeaders(t), timeoutMs: Math.max(deadline - performance.now(), 1) })
    const entry = dataArray(res.json).find((e) => e.id === model)
    const state = entry ? routerStatus(entry) : undefined
    if (state === "loaded") return { ok: true }
    if (state === "failed" || state === "unloaded") return { ok: false, error: `the server reports the model ${state}` }
    await Bun.sleep(LOAD_POLL_MS)
  }
  return { ok: false, error: "timed out waiting for the load" }
}

/** `POST /models/load|unload {model}` (router mode only: a server started with `-m` has neither route). */
async function routerOp(t: LifecycleTarget, op: "load" | "unload", model: string, timeoutMs: number): Promise<LifecycleResult> {
  const deadline = performance.now() + timeoutMs
  try {
    const res = await probeRequest(`${trimSlash(t.url)}/models/${op}`, { method: "POST", body: { model }, headers: authHeaders(t), timeoutMs })
    const error = errorText(res)
    if (res.status === 404 && !/model/i.test(error)) return { ok: false, unsupported: true, error: "this llama.cpp server is not in router mode (started with one model)" }
    if (op === "unload") return res.status === 200 ? { ok: true } : { ok: false, error }
    if (res.status !== 200 && !/already running/i.test(error)) return { ok: false, error }
    return await untilLoaded(t, model, deadline)
  } catch (err) {
    return { ok: false, error: (err as Error).message }
  }
}

const lifecycle: Lifecycle = {
  load: (t, model, req) => routerOp(t, "load", model, req.timeoutMs),
  unload: (t, model, req) => routerOp(t, "unload", model, req.timeoutMs),
}

export const llamacpp: Provider = { ...compatible, countTokens, reasoning: templateSwitch, lifecycle }
