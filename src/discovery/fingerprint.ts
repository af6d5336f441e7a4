/**
 * Which server is this? Identifies the backend type behind a URL from its answers,
 * telling apart llama.cpp, LocalAI and llamafile, which
 * all default to port 8080. Used by `POST /v1/backends` without a type, and by discovery.
 * @module
 */
import type { BackendType } from "../config/types.ts"
import { dataArray, isObject, probeRequest, trimSlash, type ProbeResponse } from "../egress/providers/http.ts"

async function get(url: string, timeoutMs: number): Promise<ProbeResponse | undefined> {
  return probeRequest(url, { timeoutMs }).catch(() => undefined)
}

export interface Identity {
  /** The backend type, or undefined when nothing answers like an LLM server. */
  type?: BackendType
  /** The server is another Nexus (it speaks OpenAI, but discovery must not loop through it). */
  nexus: boolean
}

/**
 * The type of the server at `url`, or undefined when nothing answers like an LLM server.
 * Probes run in parallel; each is a cheap GET.
 */
export async function fingerprint(url: string, opts: { timeoutMs?: number } = {}): Promise<BackendType | undefined> {
  return (await identify(url, opts)).type
}

export async function identify(url: string, opts: { timeoutMs?: number } = {}): Promise<Identity> {
  const base = trimSlash(url)
  const t = opts.timeoutMs ?? 2000
  const [root, models, version, nodeId, localai, lmstudio] = await Promise.all([
    get(`${base}/`, t),
    get(`${base}/v1/models`, t),
    get(`${base}/version`, t),
    get(`${base}/node_id`, t),
    get(`${base}/.well-known/localai.json`, t),
    get(`${base}/api/v0/models`, t),
  ])
  // Another Nexus also answers Ollama's routes; it is an OpenAI endpoint first.
  if (models?.headers.get("x-nexus-version")) return { type: "openai", nexus: true }
  const type = await classify(base, t, { root, models, version, nodeId, localai, lmstudio })
  return { type, nexus: false }
}

async function classify(
  base: string,
  t: number,
  answers: Record<"root" | "models" | "version" | "nodeId" | "localai" | "lmstudio", ProbeResponse | undefined>
): Promise<BackendType | undefined> {
  const { root, models, version, nodeId, localai, lmstudio } = answers
  if (!root && !models && !version) return undefined

  if (root?.status === 200 && root.text.trim() === "Ollama is running") return "ollama"
  // LM Studio answers every unknown route with 200 {"error": "Unexpected endpoint..."}, so
  // a route merely answering proves nothing: look for each server's own content.
  if (lmstudio?.status === 200 && dataArray(lmstudio.json).some((m) => "state" in m)) return "lmstudio"
  if (localai?.status === 200 && isObject(localai.json) && isObject(localai.json.endpoints)) return "localai"
  if (nodeId?.status === 200 && typeof nodeId.json === "string") return "exo"

  const owners = dataArray(models?.json).map((m) => m.owned_by)
  const server = root?.headers.get("server") ?? models?.headers.get("server") ?? ""
  if (owners.includes("llamafile") || /^llamafile/i.test(server)) return "llamafile"
  if (owners.includes("vllm")) return "vllm"
  if (owners.includes("exo")) return "exo"
  if (owners.includes("organization_owner")) return "lmstudio"
  if (owners.includes("llamacpp") || /llama\.cpp/i.test(server)) {
    // llamafile's legacy server is a llama.cpp fork (same owner, same Server header):
    // its /health reports idle slots, llama.cpp's does not.
    const health = await get(`${base}/health`, t)
    return isObject(health?.json) && "slots_idle" in health.json ? "llamafile" : "llamacpp"
  }
  if (version?.status === 200 && isObject(version.json) && typeof version.json.version === "string") {
    return version.json.version.startsWith("v") ? "localai" : "vllm"
  }
  // Anything else that lists models the OpenAI way, or refuses us in its error envelope.
  if (models?.status === 200 && isObject(models.json) && Array.isArray(models.json.data)) return "openai"
  if (models?.status === 401 && isObject(models.json) && isObject(models.json.error)) return "openai"
  return undefined
}
