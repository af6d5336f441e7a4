/**
 * Emulated backends for tests, the demo and the benchmark: one per server type.
 */
import { startAnthropic } from "./anthropic.ts"
import { startExo } from "./exo.ts"
import { startGemini } from "./gemini.ts"
import { startLlamacpp } from "./llamacpp.ts"
import { startLlamafile } from "./llamafile.ts"
import { startLmstudio } from "./lmstudio.ts"
import { startLocalai } from "./localai.ts"
import { startOllama } from "./ollama.ts"
import { startOpenai } from "./openai.ts"
import type { Emulator, EmulatorOptions } from "./types.ts"
import { startVllm } from "./vllm.ts"

export { freePort } from "./ports.ts"
export { startAnthropic, startGemini, startExo, startLlamacpp, startLlamafile, startLmstudio, startLocalai, startOllama, startOpenai, startVllm }
export type { ExoEmulator, ExoOptions } from "./exo.ts"
export type { LlamacppEmulator, LlamacppOptions } from "./llamacpp.ts"
export type { LlamafileEmulator, LlamafileOptions } from "./llamafile.ts"
export type { LmstudioEmulator, LmstudioOptions } from "./lmstudio.ts"
export type { LocalaiEmulator, LocalaiOptions } from "./localai.ts"
export type { OllamaOptions } from "./ollama.ts"
export type { OpenaiOptions } from "./openai.ts"
export type { VllmEmulator, VllmOptions } from "./vllm.ts"
export type { Emulator, EmulatorModel, EmulatorOptions, EmulatorState, EmulatorStats, EmulatorToolCall, Faults } from "./types.ts"

export const EMULATORS = {
  ollama: startOllama,
  vllm: startVllm,
  llamacpp: startLlamacpp,
  lmstudio: startLmstudio,
  exo: startExo,
  localai: startLocalai,
  llamafile: startLlamafile,
  openai: startOpenai,
  anthropic: startAnthropic,
  gemini: startGemini,
} satisfies Record<string, (opts?: EmulatorOptions) => Promise<Emulator>>

export type EmulatorKind = keyof typeof EMULATORS

export function startEmulator(kind: EmulatorKind, opts: EmulatorOptions = {}): Promise<Emulator> {
  return EMULATORS[kind](opts)
}
