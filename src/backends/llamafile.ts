/**
 * llamafile: the legacy server is a 2024 llama.cpp fork (`/health` with slots,
 * 503 while loading); the v2 server has no `/health`, so a 404 there is not a failure.
 * @module
 */
import { readLlamaHealth, readLlamaModel } from "./llamacpp.ts"
import { openaiCompatible } from "./openai-compatible.ts"

export const llamafile = openaiCompatible({
  type: "llamafile",
  healthPath: "/health",
  readHealth(res) {
    if (res.status === 404) return { status: "healthy" }
    return readLlamaHealth(res)
  },
  readModel: readLlamaModel,
})
