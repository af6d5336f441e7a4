/**
 * Token usage as backends report it, read without disturbing the bytes we forward.
 * @module
 */
import { fromAnthropicUsage } from "./anthropic-usage.ts"
import { fromOllamaCounts } from "./ollama-usage.ts"
import { fromResponsesUsage } from "./responses-usage.ts"

export interface Usage {
  prompt_tokens?: number
  completion_tokens?: number
  total_tokens?: number
}

/**
 * The `usage` object of a parsed OpenAI body or chunk, if it has a useful one (or an
 * Anthropic one's, a Responses one's, or the counts of Ollama's last line or document).
 */
export function readUsage(body: unknown): Usage | undefined {
  if (typeof body !== "object" || body === null) return undefined
  const b = body as { usage?: unknown; message?: { usage?: unknown }; done?: unknown; object?: unknown; response?: unknown }
  // A Responses stream's events carry the response, and so its usage, on `response`.
  if (b.usage === undefined && typeof b.response === "object" && b.response !== null) return readUsage(b.response)
  // Anthropic's message_start carries it on `message`.
  const usage = b.usage ?? (typeof b.message === "object" && b.message !== null ? b.message.usage : undefined)
  if (usage === undefined && b.done === true) return fromOllamaCounts(b)
  if (typeof usage !== "object" || usage === null) return undefined
  const u = usage as Record<string, unknown>
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined)
  if (u.prompt_tokens === undefined && (u.input_tokens !== undefined || u.output_tokens !== undefined)) {
    return b.object === "response" ? fromResponsesUsage(u) : fromAnthropicUsage(u)
  }
  const out: Usage = {
    prompt_tokens: num(u.prompt_tokens),
    completion_tokens: num(u.completion_tokens),
    total_tokens: num(u.total_tokens),
  }
  return out.prompt_tokens === undefined && out.completion_tokens === undefined ? undefined : out
}

/**
 * The `usage` of a JSON document given as text, parsing only that object: a whole
 * answer can be large, and its usage sits at the end. A `"usage"` key is found as the
 * last unescaped `"usage"` followed by a colon (inside string values quotes are escaped).
 */
export function findUsage(text: string): Usage | undefined {
  let at = text.lastIndexOf('"usage"')
  while (at !== -1) {
    let i = at + 7
    while (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x0a || text.charCodeAt(i) === 0x0d || text.charCodeAt(i) === 0x09) i++
    if (text[i] === ":") {
      const start = text.indexOf("{", i)
      const end = start === -1 ? -1 : objectEnd(text, start)
      if (end === -1) return undefined
      try {
        return readUsage({ usage: JSON.parse(text.slice(start, end + 1)) })
      } catch {
        return undefined
      }
    }
    // lastIndexOf(_, -1) searches from 0 again: an answer that starts with a `"usage"`
    // value would loop forever.
    at = at === 0 ? -1 : text.lastIndexOf('"usage"', at - 1)
  }
  return undefined
}

/** Index of the `}` that closes the object opening at `start`, or -1. */
function objectEnd(text: string, start: number): number {
  let depth = 0
  let inString = false
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x7b) depth++
    else if (c === 0x7d && --depth === 0) return i
  }
  return -1
}
