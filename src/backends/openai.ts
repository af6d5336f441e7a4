/**
 * Any OpenAI-compatible server, cloud or local, that we know nothing more about.
 * The model list is the probe; capabilities stay unknown so nothing is refused.
 * @module
 */
import { openaiCompatible } from "./openai-compatible.ts"

export const openai = openaiCompatible({ type: "openai" })
