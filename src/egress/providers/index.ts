/**
 * The provider for each backend type. Adding a provider means adding a file here and a
 * line below.
 * @module
 */
import { BACKEND_TYPES, type BackendType } from "../../core/backend.ts"
import { declareLocalities, type Locality } from "../../core/locality.ts"
import { anthropic } from "./anthropic.ts"
import { generic } from "./generic.ts"
import { google } from "./google.ts"
import { exo } from "./exo.ts"
import { llamacpp } from "./llamacpp.ts"
import { llamafile } from "./llamafile.ts"
import { lmstudio } from "./lmstudio.ts"
import { localai } from "./localai.ts"
import { ollama } from "./ollama.ts"
import { openai } from "./openai.ts"
import type { Provider } from "./types.ts"
import { vllm } from "./vllm.ts"

const providers: Record<BackendType, Provider> = {
  ollama,
  vllm,
  llamacpp,
  lmstudio,
  exo,
  localai,
  llamafile,
  generic,
  openai,
  anthropic,
  google,
}

// Configuration reads where each type runs (cloud or not, default URL) from here.
declareLocalities(Object.fromEntries(BACKEND_TYPES.map((t) => [t, providers[t].locality])) as Record<BackendType, Locality>)

export function providerFor(type: BackendType): Provider {
  return providers[type]
}

export type { Provider, ProbeContext, ProbeResult, ProbeTarget } from "./types.ts"
