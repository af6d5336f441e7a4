/**
 * Token usage as backends report it, read without disturbing the bytes we forward.
 * @module
 */

export interface Usage {
  prompt_tokens?: number
  completion_tokens?: number
  total_tokens?: number
}

/** The `usage` object of a parsed OpenAI body or chunk, if it has a useful one. */
export function readUsage(body: unknown): Usage | undefined {
  if (typeof body !== "object" || body === null) return undefined
  const usage = (body as { usage?: unknown }).usage
  if (typeof usage !== "object" || usage === null) return undefined
  const u = usage as Record<string, unknown>
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined)
  const out: Usage = {
    prompt_tokens: num(u.prompt_tokens),
    completion_tokens: num(u.completion_tokens),
    total_tokens: num(u.total_tokens),
  }
  return out.prompt_tokens === undefined && out.completion_tokens === undefined ? undefined : out
}
