/**
 * Any OpenAI-compatible server we know nothing more about. The model list is the probe;
 * capabilities stay unknown so nothing is refused.
 * @module
 */
import { ON_PREMISES } from "../../core/locality.ts"
import { openaiCompatible } from "./openai-compatible.ts"

declare module "../../core/backend.ts" {
  interface BackendTypeNames {
    generic: true
  }
}

export const generic = openaiCompatible({ type: "generic", aliases: ["openai-compatible", "openai_compatible"], locality: ON_PREMISES })
