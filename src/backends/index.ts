/**
 * The adapter for each backend type. Adding a type means adding a file here and a line below.
 * @module
 */
import type { BackendType } from "../config/types.ts"
import { exo } from "./exo.ts"
import { llamacpp } from "./llamacpp.ts"
import { llamafile } from "./llamafile.ts"
import { lmstudio } from "./lmstudio.ts"
import { localai } from "./localai.ts"
import { ollama } from "./ollama.ts"
import { openai } from "./openai.ts"
import type { BackendAdapter } from "./types.ts"
import { vllm } from "./vllm.ts"

const adapters: Record<BackendType, BackendAdapter> = {
  ollama,
  vllm,
  llamacpp,
  lmstudio,
  exo,
  localai,
  llamafile,
  openai,
}

export function adapterFor(type: BackendType): BackendAdapter {
  return adapters[type]
}

export type { BackendAdapter, ProbeContext, ProbeResult } from "./types.ts"
