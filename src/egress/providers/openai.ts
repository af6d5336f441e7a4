/**
 * The OpenAI cloud, or a cloud provider that speaks its API (the URL may point at a proxy).
 * Requests go out as they came in; the configured key is the only credential sent, and
 * streams are asked for usage so that spend is counted from what OpenAI bills.
 * @module
 */
import { openaiCompatible } from "./openai-compatible.ts"

declare module "../../core/backend.ts" {
  interface BackendTypeNames {
    openai: true
  }
}

export const openai = {
  ...openaiCompatible({ type: "openai", locality: { cloud: true, defaultUrl: "https://api.openai.com" } }),
  forwardClientAuth: false,
  streamUsage: true,
}
