/**
 * Running `nexus serve` as its own process, the way users run it.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "../../emulators/ports.ts"

const ROOT = new URL("../..", import.meta.url).pathname

export interface NexusProcess {
  url: string
  proc: ReturnType<typeof Bun.spawn>
  output(): string
  stop(signal?: NodeJS.Signals): Promise<number>
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
  const cmd = opts.cmd ?? [process.execPath, join(ROOT, "src/main.ts")]
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
  const until = Date.now() + (opts.timeoutMs ?? 15000)
  for (;;) {
    const health = await fetch(`${url}/health`)
      .then((r) => r.json() as Promise<{ models: number }>)
      .catch(() => undefined)
    if (health && health.models >= (opts.minModels ?? 1)) break
    if (proc.exitCode !== null || Date.now() > until) {
      proc.kill("SIGKILL")
      throw new Error(`nexus did not become ready:\n${out}`)
    }
    await Bun.sleep(25)
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
