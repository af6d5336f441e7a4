/**
 * Counting a prompt's tokens without generating (Anthropic's `count_tokens`, OpenAI's
 * `input_tokens`): exact when a backend that serves the model can count with the model's
 * own template and tokenizer (llama.cpp), otherwise the documented estimate (four
 * characters a token). `X-Nexus-Token-Count` says which.
 * @module
 */
import type { Context } from "hono"
import { estimateTokens } from "./answer.ts"
import type { IngressDeps, IngressEnv, Prompt } from "./dialect.ts"

/** The estimate of a translated request's prompt tokens, when no backend can count them. */
function estimatePromptTokens(canonical: Record<string, unknown>): number {
  const text = JSON.stringify(canonical.messages) + (canonical.tools ? JSON.stringify(canonical.tools) : "")
  return estimateTokens(text.length)
}

/** The prompt's tokens, counted by a backend that can, else estimated; the header says which. */
export async function promptTokens(deps: Pick<IngressDeps, "countPrompt">, c: Context<IngressEnv>, prompt: Prompt): Promise<number> {
  const counted = await deps.countPrompt(prompt, c.req.raw.headers, c.get("scope").key)
  c.header("x-nexus-token-count", counted ? `exact:${counted.backend}` : "estimate")
  return counted ? counted.tokens : estimatePromptTokens(prompt.canonical)
}
