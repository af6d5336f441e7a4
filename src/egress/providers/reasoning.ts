/**
 * The switches local servers have for a model's reasoning, as request fields added to
 * the canonical (OpenAI) body: the chat-template flag Qwen-style templates read
 * (`chat_template_kwargs.enable_thinking`, vLLM and llama.cpp), and the OpenAI-style
 * `reasoning_effort` (Ollama's OpenAI layer turns it into `think`, "none" into no thinking).
 * @module
 */
import type { Reasoning } from "../../core/request.ts"

type Fields = Record<string, unknown> | undefined

export function templateSwitch(r: Reasoning): Fields {
  return r.enabled === undefined ? undefined : { chat_template_kwargs: { enable_thinking: r.enabled } }
}

export function reasoningEffort(r: Reasoning): Fields {
  if (r.enabled === false) return { reasoning_effort: "none" }
  return r.effort ? { reasoning_effort: r.effort } : undefined
}

/** vLLM reads both: the template flag for Qwen-style models, the effort for gpt-oss. */
export function templateSwitchAndEffort(r: Reasoning): Fields {
  const effort = r.enabled === false ? undefined : reasoningEffort(r)
  const flag = templateSwitch(r)
  return flag || effort ? { ...flag, ...effort } : undefined
}
