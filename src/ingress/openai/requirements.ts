/**
 * What an OpenAI request needs from a model, read from the payload itself.
 * @module
 */

import type { Requirements } from "../../core/request.ts"

const NONE: Requirements = { vision: false, tools: false, jsonMode: false, embeddings: false, estimatedTokens: 0 }

export function noRequirements(): Requirements {
  return { ...NONE }
}

/** Requirements of an OpenAI chat completion body. */
export function chatRequirements(body: Record<string, unknown>): Requirements {
  let chars = 0
  let vision = false
  const messages = Array.isArray(body.messages) ? body.messages : []
  for (const m of messages) {
    if (typeof m !== "object" || m === null) continue
    const content = (m as { content?: unknown }).content
    if (typeof content === "string") chars += content.length
    else if (Array.isArray(content)) {
      for (const part of content) {
        if (typeof part !== "object" || part === null) continue
        const p = part as { type?: unknown; text?: unknown }
        if (p.type === "image_url" || p.type === "input_image" || p.type === "image") vision = true
        else if (typeof p.text === "string") chars += p.text.length
      }
    }
  }
  const tools = Array.isArray(body.tools) && body.tools.length > 0
  const format = body.response_format as { type?: unknown } | undefined
  const jsonMode = format?.type === "json_object" || format?.type === "json_schema"
  const maxTokens = numberOr(body.max_completion_tokens, numberOr(body.max_tokens, 0))
  return {
    vision,
    tools,
    jsonMode,
    embeddings: false,
    estimatedTokens: Math.ceil(chars / 4) + maxTokens,
    promptTokens: Math.ceil(chars / 4),
    maxTokens: maxTokens || undefined,
  }
}

function numberOr(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : fallback
}
