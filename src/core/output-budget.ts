/**
 * The output budget on a model with a finite context window. Coding agents ask for far
 * more output than a local model has room for (Claude Code sends `max_tokens: 32000`
 * whatever the model), so routing counts the prompt plus a small minimum output, and
 * the chosen model gets a budget clamped to what its window has left.
 * @module
 */
import type { Requirements } from "./request.ts"

/** The least room for an answer a backend must have to be worth routing to. */
export const MIN_OUTPUT_TOKENS = 256

/**
 * Four characters a token is about right for English prose and low for code and most
 * other languages: a window is judged on a third more, so an estimate errs towards
 * refusing (the agent compacts) rather than towards a server that silently drops the start
 * of the conversation. A refusal is checked again with the backend's own count.
 */
const ESTIMATE_MARGIN = 4 / 3

/** Tokens a model's window must hold for this request to be routable. */
export function contextNeed(needs: Requirements): number {
  if (needs.promptTokens === undefined) return needs.estimatedTokens
  const prompt = needs.promptCounted ? needs.promptTokens : Math.ceil(needs.promptTokens * ESTIMATE_MARGIN)
  // Without a budget the server decides how much to write; only the prompt must fit.
  return prompt + Math.min(needs.maxTokens ?? 0, MIN_OUTPUT_TOKENS)
}

/**
 * The output budget to send to a model with `contextLength`, when the client's must be
 * lowered; undefined when it fits (or nothing is known to compare).
 */
export function clampedOutput(needs: Requirements, contextLength: number | undefined): number | undefined {
  const { promptTokens, maxTokens } = needs
  if (!contextLength || promptTokens === undefined || maxTokens === undefined) return undefined
  if (promptTokens + maxTokens <= contextLength) return undefined
  return Math.max(1, contextLength - promptTokens)
}
