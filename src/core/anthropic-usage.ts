/**
 * Token usage and finish reasons between Anthropic's names and OpenAI's, both ways: the
 * one mapping of the pair, read by the Anthropic provider (its answers in OpenAI's
 * terms) and the Anthropic dialect (OpenAI answers in Anthropic's). Anthropic's
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

/** Anthropic usage (input, output, cache reads and writes) as OpenAI usage. */
export function openaiUsage(u: unknown): { prompt_tokens: number; completion_tokens: number; total_tokens: number } | undefined {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return undefined
  const mapped = fromAnthropicUsage(u as Record<string, unknown>)
  const prompt = mapped.prompt_tokens ?? 0
  const completion = mapped.completion_tokens ?? 0
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
}

const FINISH: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
}

/** An Anthropic stop reason as an OpenAI finish reason. */
export function finishReason(stop: unknown): string | null {
  if (typeof stop !== "string") return null
  return FINISH[stop] ?? "stop"
}

/** OpenAI finish reasons as Anthropic stop reasons. */
export function stopReason(finish: string | null, stopSequence?: string): string {
  if (finish === "length") return "max_tokens"
  if (finish === "tool_calls" || finish === "function_call") return "tool_use"
  if (finish === "content_filter") return "refusal"
  if (finish === "stop" && stopSequence) return "stop_sequence"
  return "end_turn"
}
