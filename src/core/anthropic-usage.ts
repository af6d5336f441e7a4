/**
 * Token usage between Anthropic's names and OpenAI's, both ways. Anthropic's
 * `input_tokens` leaves out what the prompt cache wrote or read (reported beside it);
 * OpenAI's `prompt_tokens` counts the whole prompt. Every reader of Anthropic usage
 * (translated answers, relayed streams, spend) and the Anthropic encoder go through here.
 * @module
 */

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined)

/**
 * Anthropic usage in OpenAI's terms. The prompt is undefined when no input count is
 * present at all (a stream's message_delta carries only output).
 */
export function fromAnthropicUsage(u: Record<string, unknown>): { prompt_tokens?: number; completion_tokens?: number } {
  const input = num(u.input_tokens)
  const written = num(u.cache_creation_input_tokens)
  const read = num(u.cache_read_input_tokens)
  const prompt = input === undefined && written === undefined && read === undefined ? undefined : (input ?? 0) + (written ?? 0) + (read ?? 0)
  return { prompt_tokens: prompt, completion_tokens: num(u.output_tokens) }
}

/** A whole prompt's count in Anthropic's terms: what the cache served goes in `cache_read_input_tokens`. */
export function toAnthropicInput(prompt: number, cached: number): { input_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number } {
  const read = Math.min(cached, prompt)
  return { input_tokens: prompt - read, cache_creation_input_tokens: 0, cache_read_input_tokens: read }
}
