/**
 * llamafile: the legacy server is a 2024 llama.cpp fork (`/health` with slots,
 * 503 while loading, mid-stream errors in an SSE `error:` field); the v2 server has no
 * `/health`, so a 404 there is not a failure.
 * @module
 */
import { ON_PREMISES } from "../../core/locality.ts"
import { relabelChunk } from "../sse-format.ts"
import { errorEvent } from "../../core/dialect-wire.ts"
import { readLlamaHealth, readLlamaModel } from "./llamacpp.ts"
import { openaiCompatible } from "./openai-compatible.ts"

declare module "../../core/backend.ts" {
  interface BackendTypeNames {
    llamafile: true
  }
}

/** The legacy server reports a failure in an `error:` field, which SDKs drop. */
function fixErrorField(event: string): string | undefined {
  const line = /^error: ?(.*)$/m.exec(event)
  if (!line || /^data:/m.test(event)) return undefined
  const raw = line[1] ?? ""
  let message = raw
  try {
    const parsed = JSON.parse(raw) as { message?: string; content?: string; error?: { message?: string } }
    message = parsed.message ?? parsed.error?.message ?? parsed.content ?? raw
  } catch {
    // not JSON: keep the raw text as the message
  }
  return errorEvent(message, "upstream_error").trimEnd()
}

export const llamafile = openaiCompatible({
  type: "llamafile",
  locality: ON_PREMISES,
  // The legacy server's error field, and v2's chunks labelled `chat.completion`.
  fixEvent: (event) => fixErrorField(event) ?? relabelChunk(event),
  healthPath: "/health",
  readHealth(res) {
    if (res.status === 404) return { status: "healthy" }
    return readLlamaHealth(res)
  },
  readModel: readLlamaModel,
})
