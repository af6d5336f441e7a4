/**
 * The one place bench and soak name the emulated backends: each runs as its own process
 * through the emulators' command line, so its CPU is not ours and it can be killed and
 * started again on the same port.
 */
import { join } from "node:path"

const ROOT = new URL("../..", import.meta.url).pathname

export const EMULATOR_CLI = join(ROOT, "emulators/cli.ts")

export interface EmulatorSpec {
  kind: "vllm"
  port: number
  models: string[]
  chunks?: number
  latencyMs?: number
  chunkDelayMs?: number
}

/** The command that runs one emulator (spawn it with `cwd` at the project root). */
export function emulatorCommand(spec: EmulatorSpec): string[] {
  const cmd = [process.execPath, EMULATOR_CLI, spec.kind, "--port", String(spec.port), "--host", "127.0.0.1", "--models", spec.models.join(",")]
  if (spec.chunks !== undefined) cmd.push("--chunks", String(spec.chunks))
  if (spec.latencyMs !== undefined) cmd.push("--latency", String(spec.latencyMs))
  if (spec.chunkDelayMs !== undefined) cmd.push("--chunk-delay", String(spec.chunkDelayMs))
  return cmd
}
