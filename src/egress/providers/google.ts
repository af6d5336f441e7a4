/**
 * Google Gemini through its OpenAI-compatible endpoint (`/v1beta/openai`), with a Bearer
 * key. Its model list prefixes ids with `models/`; chat accepts them without, so the
 * prefix is removed. A client's own credentials never reach it.
 * @module
 */
import type { ModelInfo } from "../../core/backend.ts"
import { authHeaders, dataArray, probeRequest, trimSlash } from "./http.ts"
import type { Provider } from "./types.ts"

declare module "../../core/backend.ts" {
  interface BackendTypeNames {
    google: true
  }
}

const base = (url: string) => `${trimSlash(url)}/v1beta/openai`

export const google: Provider = {
  type: "google",
  locality: { cloud: true, defaultUrl: "https://generativelanguage.googleapis.com" },
  dialect: "openai",
  apiBase: base,
  forwardClientAuth: false,
  streamUsage: true,

  async probe(backend, ctx) {
    try {
      const res = await probeRequest(`${base(backend.url)}/models`, { headers: authHeaders(backend), timeoutMs: ctx.timeoutMs })
      if (res.status < 200 || res.status >= 300) return { status: "unhealthy", error: `GET /v1beta/openai/models answered ${res.status}` }
      const models: ModelInfo[] = dataArray(res.json)
        .filter((m) => typeof m.id === "string")
        .map((m) => ({ id: (m.id as string).replace(/^models\//, ""), capabilities: {}, ownedBy: "google" }))
      return { status: "healthy", models }
    } catch (err) {
      return { status: "unhealthy", error: (err as Error).message }
    }
  },
}
