/**
 * Token counts and finish reasons between the Responses API's names and OpenAI Chat's,
 * both ways: the one mapping of the pair, read by the relay (what a server with its own
 * Responses API counted, in its document or on the `response` of its stream's last
 * event) and the Responses dialect (a canonical answer told in Responses' terms). Unlike
 * Anthropic's, Responses' `input_tokens` counts the whole prompt, its cached part too.
 * @module
 */

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined)

/** Responses usage in OpenAI Chat's terms. */
export function fromResponsesUsage(u: Record<string, unknown>): { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } {
  return { prompt_tokens: num(u.input_tokens), completion_tokens: num(u.output_tokens), total_tokens: num(u.total_tokens) }
}

/**
 * OpenAI Chat usage in Responses' terms (0 for what the backend did not say); `cached`:
 * the prompt tokens read from the server's cache (Chat's `prompt_tokens_details.cached_tokens`).
 */
export function toResponsesUsage(u: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number; cached?: number } | undefined) {
  const input = u?.prompt_tokens ?? 0
  const output = u?.completion_tokens ?? 0
  const cached = Math.min(u?.cached ?? 0, input)
  return { input_tokens: input, input_tokens_details: { cached_tokens: cached }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: u?.total_tokens ?? input + output }
}

/** A Chat finish reason as a response's status: an answer cut short is incomplete. */
export const responseStatus = (finish: string | null) => (finish === "length" || finish === "content_filter" ? "incomplete" : "completed")

/** Why a response is incomplete, for its `incomplete_details`. */
export const incompleteReason = (finish: string | null) => (finish === "content_filter" ? "content_filter" : "max_output_tokens")
