/**
 * What a request cost: prices per million tokens from a built-in table of current cloud
 * models (OpenAI, Anthropic, Gemini), overridden or extended by `[pricing."<glob>"]`.
 * Local backends cost nothing. Pure: no I/O.
 * @module
 */
import { globMatch } from "./glob.ts"
import type { Requirements } from "./request.ts"
import type { Usage } from "./usage.ts"

export interface Price {
  input_per_million: number
  output_per_million: number
}

/**
 * Published list prices (USD per million tokens, standard tier), most specific first:
 * the first glob that matches a model name wins, so `gpt-4o-mini*` precedes `gpt-4o*`.
 */
export const BUILTIN_PRICES: readonly (readonly [string, number, number])[] = [
  ["gpt-4.1-nano*", 0.1, 0.4],
  ["gpt-4.1-mini*", 0.4, 1.6],
  ["gpt-4.1*", 2, 8],
  ["gpt-4o-mini*", 0.15, 0.6],
  ["gpt-4o*", 2.5, 10],
  ["gpt-5-nano*", 0.05, 0.4],
  ["gpt-5-mini*", 0.25, 2],
  ["gpt-5*", 1.25, 10],
  ["o4-mini*", 1.1, 4.4],
  ["o3-mini*", 1.1, 4.4],
  ["o3*", 2, 8],
  ["o1-mini*", 1.1, 4.4],
  ["o1*", 15, 60],
  ["gpt-4-turbo*", 10, 30],
  ["gpt-4*", 30, 60],
  ["gpt-3.5-turbo*", 0.5, 1.5],
  ["text-embedding-3-small*", 0.02, 0],
  ["text-embedding-3-large*", 0.13, 0],
  ["text-embedding-ada-002*", 0.1, 0],
  ["claude-opus-4*", 15, 75],
  ["claude-sonnet-4*", 3, 15],
  ["claude-haiku-4*", 1, 5],
  ["claude-3-7-sonnet*", 3, 15],
  ["claude-3-5-sonnet*", 3, 15],
  ["claude-3-5-haiku*", 0.8, 4],
  ["claude-3-opus*", 15, 75],
  ["claude-3-haiku*", 0.25, 1.25],
  ["gemini-2.5-pro*", 1.25, 10],
  ["gemini-2.5-flash-lite*", 0.1, 0.4],
  ["gemini-2.5-flash*", 0.3, 2.5],
  ["gemini-2.0-flash-lite*", 0.075, 0.3],
  ["gemini-2.0-flash*", 0.1, 0.4],
  ["gemini-1.5-pro*", 1.25, 5],
  ["gemini-1.5-flash*", 0.075, 0.3],
]

/** The price of `model`: an override first (first matching glob), then the built-in table. */
export function priceOf(model: string, overrides: Readonly<Record<string, Price>> = {}): Price | undefined {
  const name = model.replace(/^models\//, "")
  if (overrides[name]) return overrides[name]
  for (const [glob, price] of Object.entries(overrides)) if (globMatch(glob, name)) return price
  for (const [glob, input, output] of BUILTIN_PRICES) {
    if (globMatch(glob, name)) return { input_per_million: input, output_per_million: output }
  }
  return undefined
}

/** USD for this usage at this price. */
export function costOf(usage: Usage, price: Price): number {
  const input = usage.prompt_tokens ?? 0
  const output = usage.completion_tokens ?? Math.max(0, (usage.total_tokens ?? 0) - input)
  return (input * price.input_per_million + output * price.output_per_million) / 1_000_000
}

/** Output tokens assumed for a request that sets no limit, on a model whose window is unknown. */
const DEFAULT_OUTPUT_TOKENS = 4096

/**
 * The most a request is expected to cost at this price, reserved before it is sent: its
 * prompt (estimated) and its whole output budget (`max_tokens`, else what the model's
 * window leaves, else DEFAULT_OUTPUT_TOKENS). Embeddings write no output.
 */
export function worstCost(needs: Requirements, price: Price, contextLength: number | undefined, embeddings: boolean): number {
  const prompt = needs.promptTokens ?? needs.estimatedTokens
  const output = embeddings ? 0 : (needs.maxTokens ?? (contextLength ? Math.max(0, contextLength - prompt) : DEFAULT_OUTPUT_TOKENS))
  return costOf({ prompt_tokens: prompt, completion_tokens: output }, price)
}
