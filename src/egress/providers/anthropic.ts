/**
 * Anthropic's Messages API. Clients that speak it are passed through; OpenAI clients are
 * translated (anthropic-request.ts, anthropic-response.ts, anthropic-stream.ts). The key
 * goes in `x-api-key` with the `anthropic-version` Anthropic requires; a client's own
 * credentials never reach it. Health is the model list (free), never a billable message.
 * @module
 */
import type { ModelInfo } from "../../core/backend.ts"
import { toMessagesRequest } from "./anthropic-request.ts"
import { translateWhole } from "./anthropic-response.ts"
import { translateStream } from "./anthropic-stream.ts"
import { dataArray, probeRequest, trimSlash } from "./http.ts"
import type { Provider } from "./types.ts"

declare module "../../core/backend.ts" {
  interface BackendTypeNames {
    anthropic: true
  }
}

export const ANTHROPIC_VERSION = "2023-06-01"

function headers(key: string | undefined): Record<string, string> {
  return { "anthropic-version": ANTHROPIC_VERSION, ...(key ? { "x-api-key": key } : {}) }
}

export const anthropic: Provider = {
  type: "anthropic",
  locality: { cloud: true, defaultUrl: "https://api.anthropic.com" },
  dialect: "anthropic",
  apiBase: (url) => `${trimSlash(url)}/v1`,
  path: () => "/messages",
  auth: (key) => headers(key),
  forwardClientAuth: false,
  translate: {
    request: toMessagesRequest,
    response: (res, { stream, model, maxFrameBytes }) => (stream ? translateStream(res, model, maxFrameBytes) : translateWhole(res, model)),
  },

  async probe(backend, ctx) {
    try {
      const res = await probeRequest(`${trimSlash(backend.url)}/v1/models?limit=1000`, { headers: headers(backend.apiKey), timeoutMs: ctx.timeoutMs })
      if (res.status < 200 || res.status >= 300) return { status: "unhealthy", error: `GET /v1/models answered ${res.status}` }
      const models: ModelInfo[] = dataArray(res.json)
        .filter((m) => typeof m.id === "string")
        .map((m) => ({
          id: m.id as string,
          contextLength: typeof m.max_input_tokens === "number" ? m.max_input_tokens : undefined,
          capabilities: { vision: true, tools: true, embeddings: false },
          ownedBy: "anthropic",
        }))
      return { status: "healthy", models }
    } catch (err) {
      return { status: "unhealthy", error: (err as Error).message }
    }
  },
}
