/**
 * The shared shape of every server that speaks the OpenAI API: an optional liveness
 * route, then `/v1/models`, then per-family enrichment of what the list leaves out.
 * @module
 */
import type { BackendType } from "../../config/types.ts"
import type { ModelInfo } from "../../core/backend.ts"
import type { Locality } from "../../core/locality.ts"
import { authHeaders, dataArray, openaiBase, probeRequest, trimSlash, type ProbeResponse } from "./http.ts"
import type { EventFix, ProbeContext, ProbeResult, ProbeTarget, Provider } from "./types.ts"

export interface HealthVerdict {
  status: ProbeResult["status"]
  error?: string
}

export interface Family {
  type: BackendType
  /** See Provider.aliases. */
  aliases?: readonly string[]
  /** See Provider.locality. */
  locality: Locality
  /** Liveness route relative to the server root; checked before the model list. */
  healthPath?: string
  /** Read the liveness answer. Default: 2xx healthy, anything else unhealthy. */
  readHealth?(res: ProbeResponse): HealthVerdict
  /** Turn one `/v1/models` entry into a model. Default: id only. */
  readModel?(entry: Record<string, unknown>): ModelInfo | undefined
  /** Add what the list does not say (context, capabilities, warm state). */
  enrich?(backend: ProbeTarget, models: ModelInfo[], ctx: ProbeContext): Promise<ModelInfo[]>
  /** The server's stream quirks (see Provider.fixEvent). */
  fixEvent?: EventFix
}

export function defaultReadModel(entry: Record<string, unknown>): ModelInfo | undefined {
  if (typeof entry.id !== "string") return undefined
  return {
    id: entry.id,
    capabilities: {},
    ownedBy: typeof entry.owned_by === "string" ? entry.owned_by : undefined,
  }
}

function defaultReadHealth(res: ProbeResponse): HealthVerdict {
  if (res.status >= 200 && res.status < 300) return { status: "healthy" }
  return { status: "unhealthy", error: `health check answered ${res.status}` }
}

export function openaiCompatible(family: Family): Provider {
  const readHealth = family.readHealth ?? defaultReadHealth
  const readModel = family.readModel ?? defaultReadModel
  return {
    type: family.type,
    aliases: family.aliases,
    locality: family.locality,
    dialect: "openai",
    apiBase: openaiBase,
    fixEvent: family.fixEvent,

    async probe(backend, ctx) {
      const headers = authHeaders(backend)
      try {
        if (family.healthPath) {
          const res = await probeRequest(`${trimSlash(backend.url)}${family.healthPath}`, {
            headers,
            timeoutMs: ctx.timeoutMs,
          })
          const verdict = readHealth(res)
          if (verdict.status !== "healthy") return verdict
        }
        const list = await probeRequest(`${openaiBase(backend.url)}/models`, {
          headers,
          timeoutMs: ctx.timeoutMs,
        })
        if (list.status < 200 || list.status >= 300) {
          const verdict = readHealth(list)
          return verdict.status === "healthy"
            ? { status: "unhealthy", error: `GET /v1/models answered ${list.status}` }
            : verdict
        }
        let models = dataArray(list.json)
          .map(readModel)
          .filter((m): m is ModelInfo => m !== undefined)
        if (family.enrich) models = await family.enrich(backend, models, ctx).catch(() => models)
        return { status: "healthy", models }
      } catch (err) {
        return { status: "unhealthy", error: (err as Error).message }
      }
    },
  }
}
