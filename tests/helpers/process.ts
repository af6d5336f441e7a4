/**
 * Running `nexus serve`, and emulators, as their own processes, the way users run them.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "../../emulators/index.ts"
import { until } from "./wait.ts"

export const ROOT = new URL("../..", import.meta.url).pathname
export const MAIN = join(ROOT, "src/main.ts")

export interface NexusProcess {
  url: string
  proc: ReturnType<typeof Bun.spawn>
  output(): string
  stop(signal?: NodeJS.Signals): Promise<number>
}

/**
 * The command line of an emulator run as a process (`emulators/cli.ts`). With
 * `logRequests` it prints one `METHOD /path` line per request it receives.
 */
export function emulatorCommand(kind: string, opts: { port: number; host?: string; models?: string; logRequests?: boolean }): string[] {
  const args = [process.execPath, join(ROOT, "emulators/cli.ts"), kind, "--port", String(opts.port), "--host", opts.host ?? "127.0.0.1"]
  if (opts.models) args.push("--models", opts.models)
  if (opts.logRequests) args.push("--log-requests")
  return args
}

/**
 * Start `bun src/main.ts serve` (or `cmd`) with a TOML config and wait until /health
 * reports `minModels` models.
 */
export async function spawnNexus(
  toml: string,
  opts: { cmd?: string[]; env?: Record<string, string>; minModels?: number; timeoutMs?: number; files?: Record<string, string> } = {}
): Promise<NexusProcess> {
  const dir = mkdtempSync(join(tmpdir(), "nexus-test-"))
  const port = freePort()
  const path = join(dir, "nexus.toml")
  writeFileSync(path, `${toml}\n`)
  for (const [name, text] of Object.entries(opts.files ?? {})) writeFileSync(join(dir, name), text)
  const cmd = opts.cmd ?? [process.execPath, MAIN]
  const proc = Bun.spawn([...cmd, "serve", "--config", path, "--port", String(port), "--host", "127.0.0.1", "--no-discovery"], {
    cwd: dir,
    env: { ...process.env, NEXUS_LOG_FORMAT: "json", ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
  })
  let out = ""
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) out += new TextDecoder().decode(chunk)
  }
  void pump(proc.stdout as ReadableStream<Uint8Array>)
  void pump(proc.stderr as ReadableStream<Uint8Array>)
  const url = `http://127.0.0.1:${port}`
  const health = () => fetch(`${url}/health`).then((r) => r.json() as Promise<{ models: number }>, () => undefined)
  const ready = await until(
    async () => ({ exited: proc.exitCode !== null, models: (await health())?.models ?? -1 }),
    (s) => s.exited || s.models >= (opts.minModels ?? 1),
    { timeoutMs: opts.timeoutMs ?? 15000, everyMs: 25 }
  ).catch(() => undefined)
  if (!ready || ready.exited) {
    proc.kill("SIGKILL")
    throw new Error(`nexus did not become ready:\n${out}`)
  }
  return {
    url,
    proc,
    output: () => out,
    async stop(signal = "SIGTERM") {
      proc.kill(signal)
      return await proc.exited
    },
  }
}
