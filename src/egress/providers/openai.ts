/**
 * The OpenAI cloud, or a cloud provider that speaks its API (the URL may point at a proxy).
 * Requests go out as they came in; the configured key is the only credential sent.
 * @module
 */
import { openaiCompatible } from "./openai-compatible.ts"

export const openai = openaiCompatible({ type: "openai" })
