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
  const b = body as { usage?: unknown; message?: { usage?: unknown } }
  // Anthropic's message_start carries it on `message`.
  const usage = b.usage ?? (typeof b.message === "object" && b.message !== null ? b.message.usage : undefined)
  if (typeof usage !== "object" || usage === null) return undefined
  const u = usage as Record<string, unknown>
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined)
  if (u.prompt_tokens === undefined && (u.input_tokens !== undefined || u.output_tokens !== undefined)) {
    // Anthropic's names: input counts cache reads and writes too, as OpenAI's prompt does.
    const input = num(u.input_tokens)
    const prompt = input === undefined ? undefined : input + (num(u.cache_creation_input_tokens) ?? 0) + (num(u.cache_read_input_tokens) ?? 0)
    return { prompt_tokens: prompt, completion_tokens: num(u.output_tokens) }
  }
  const out: Usage = {
    prompt_tokens: num(u.prompt_tokens),
    completion_tokens: num(u.completion_tokens),
    total_tokens: num(u.total_tokens),
  }
  return out.prompt_tokens === undefined && out.completion_tokens === undefined ? undefined : out
}
