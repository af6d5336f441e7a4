/**
 * Usage on cloud streams. OpenAI-compatible clouds report a stream's usage only when
 * asked (`stream_options.include_usage`), and spend must be counted from what they bill:
 * Nexus asks, and removes the extra `choices: []` usage chunk again when the client did
 * not ask for it, so the client sees exactly the stream it requested.
 * @module
 */
import type { CanonicalRequest } from "../core/request.ts"
import type { EventFix } from "./providers/types.ts"
import { dataPayload } from "./sse-format.ts"

export function clientWantsUsage(body: Record<string, unknown>): boolean {
  const opts = body.stream_options
  return typeof opts === "object" && opts !== null && (opts as { include_usage?: unknown }).include_usage === true
}

/** The body with usage asked for; `drop`: the client did not ask, so its chunk goes. */
export function askForUsage(req: CanonicalRequest, body: string): { body: string; drop: boolean } | undefined {
  if (!req.stream || req.operation === "embeddings" || clientWantsUsage(req.body)) return undefined
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>
    const opts = typeof parsed.stream_options === "object" && parsed.stream_options !== null ? parsed.stream_options : {}
    parsed.stream_options = { ...opts, include_usage: true }
    return { body: JSON.stringify(parsed), drop: true }
  } catch {
    return undefined
  }
}

/** Drops the usage-only chunk (after the provider's own fix, if any). */
export function withoutUsageChunk(inner?: EventFix): EventFix {
  return (event) => {
    const fixed = inner?.(event)
    const e = fixed ?? event
    const payload = dataPayload(e)
    if (payload !== undefined && payload.includes('"usage"') && /"choices"\s*:\s*\[\s*\]/.test(payload)) return ""
    // With include_usage every chunk carries `"usage":null`; the client did not ask for that either.
    if (payload !== undefined && payload.includes('"usage":null')) return e.replace(',"usage":null', "").replace('"usage":null,', "")
    return fixed
  }
}
