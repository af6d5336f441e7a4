/**
 * Token counts and finish reasons between Ollama's names and OpenAI's, both ways: the one
 * mapping of the pair, read by the relay (what an Ollama server counted, on the last line
 * of its stream or in its one document) and the Ollama dialect (an OpenAI answer told in
 * Ollama's terms). Ollama reports `prompt_eval_count` and `eval_count` once it is `done`.
 * @module
 */

const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined)

/** What a finished Ollama answer counted, in OpenAI's terms; undefined before it is done or when it counted nothing. */
export function fromOllamaCounts(doc: { done?: unknown; prompt_eval_count?: unknown; eval_count?: unknown }): { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | undefined {
  if (doc.done !== true) return undefined
  const prompt = count(doc.prompt_eval_count)
  const completion = count(doc.eval_count)
  if (prompt === undefined && completion === undefined) return undefined
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: (prompt ?? 0) + (completion ?? 0) }
}

/** OpenAI usage as Ollama's counts (0 for what the backend did not say). */
export function toOllamaCounts(usage: { prompt_tokens?: number; completion_tokens?: number } | undefined): { prompt_eval_count: number; eval_count: number } {
  return { prompt_eval_count: usage?.prompt_tokens ?? 0, eval_count: usage?.completion_tokens ?? 0 }
}

/** An OpenAI finish reason as Ollama's `done_reason`. */
export const doneReason = (finish: string | null) => (finish === "length" ? "length" : "stop")
