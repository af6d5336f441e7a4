/**
 * The provider for each backend type. Adding a provider means adding a file here (which
 * declares its type name, where it runs and its quirks) and a line below.
 * @module
 */
import type { BackendType } from "../../core/backend.ts"
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

/** Every provider, one line each; this order is the order types are listed in. */
const PROVIDERS: readonly Provider[] = [
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
]

const providers = Object.fromEntries(PROVIDERS.map((p) => [p.type, p])) as Record<BackendType, Provider>

// Configuration reads which types there are, their other spellings and where each runs (cloud or not, default URL) from here.
declareLocalities(
  Object.fromEntries(PROVIDERS.map((p) => [p.type, p.locality])) as Record<BackendType, Locality>,
  Object.fromEntries(PROVIDERS.flatMap((p) => (p.aliases ?? []).map((alias) => [alias, p.type])))
)

export function providerFor(type: BackendType): Provider {
  return providers[type]
}

export type { Provider, ProbeContext, ProbeResult, ProbeTarget } from "./types.ts"
