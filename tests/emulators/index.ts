/**
 * Emulated backends for tests, the demo and the benchmark: one per server type.
 */
import { startLlamacpp } from "./llamacpp.ts"
import { startOllama } from "./ollama.ts"
import type { Emulator, EmulatorOptions } from "./types.ts"
import { startVllm } from "./vllm.ts"

export { startLlamacpp, startOllama, startVllm }
export type { Emulator, EmulatorModel, EmulatorOptions, EmulatorStats, Faults } from "./types.ts"

export const EMULATORS = {
  ollama: startOllama,
  vllm: startVllm,
  llamacpp: startLlamacpp,
} satisfies Record<string, (opts?: EmulatorOptions) => Promise<Emulator>>

export type EmulatorKind = keyof typeof EMULATORS

export function startEmulator(kind: EmulatorKind, opts: EmulatorOptions = {}): Promise<Emulator> {
  return EMULATORS[kind](opts)
}
