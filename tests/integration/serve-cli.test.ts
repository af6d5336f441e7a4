/**
 * `nexus serve` and `nexus config` as users run them: a separate process, a TOML file,
 * environment and flags, config errors with exit code 2, and a graceful SIGTERM that lets
 * an in-flight stream finish.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, startVllm, type Emulator } from "../../emulators/index.ts"
import { MAIN, spawnNexus } from "../helpers/process.ts"
import { readRest } from "../helpers/sse.ts"
import { until } from "../helpers/wait.ts"
import { lacking } from "../helpers/skip.ts"

let emu: Emulator
let dir: string

beforeAll(async () => {
  emu = await startVllm({ models: ["m"], chunks: 10, chunkDelayMs: 100 })
  dir = mkdtempSync(join(tmpdir(), "nexus-cli-"))
})
afterAll(() => emu.stop())

function run(args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawnSync([process.execPath, MAIN, ...args], { cwd: dir, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" })
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() }
}

describe("nexus config", () => {
  test("init writes a template that validates, refuses to overwrite, and --force does", () => {
    const path = join(dir, "init.toml")
    expect(run(["config", "init", "--output", path]).code).toBe(0)
    const validated = run(["config", "validate", "--config", path])
    expect(validated.code).toBe(0)
    expect(validated.stdout).toContain("is valid")
    expect(validated.stdout).toContain("[routing.weights]")
    const again = run(["config", "init", "--output", path])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain("--force")
    expect(run(["config", "init", "--output", path, "--force", "--minimal"]).code).toBe(0)
    expect(readFileSync(path, "utf8")).toContain("minimal")
  })

  test("validate reports every problem with exit code 2 and no stack trace", () => {
    const path = join(dir, "bad.toml")
    writeFileSync(path, '[server]\nport = "eighty"\n[health_check]\nintervl_seconds = 5\n')
    const r = run(["config", "validate", "--config", path])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`${path}:2: server.port: expected an integer between 1 and 65535`)
    expect(r.stderr).toContain(`${path}:4: unknown key \`intervl_seconds\` in [health_check]; did you mean \`interval_seconds\`?`)
    expect(r.stderr).not.toMatch(/^\s+at /m)
  })
})

describe("nexus serve", () => {
  test("a config error stops it at once with exit code 2; a bad env value names the variable", () => {
    const missing = run(["serve", "--config", join(dir, "nope.toml")])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("Config file not found")
    const badEnv = run(["serve"], { NEXUS_PORT: "99999" })
    expect(badEnv.code).toBe(2)
    expect(badEnv.stderr).toContain('NEXUS_PORT="99999": expected an integer between 1 and 65535')
  })

  test("flags beat env, env beats the file", async () => {
    const port = freePort()
    const path = join(dir, "prec.toml")
    writeFileSync(path, `[server]\nport = 1\nhost = "127.0.0.1"\n[logging]\nlevel = "error"\n`)
    const proc = Bun.spawn([process.execPath, MAIN, "serve", "--port", String(port), "--no-discovery"], {
      cwd: dir,
      env: { ...process.env, NEXUS_CONFIG: path, NEXUS_PORT: "2", NEXUS_LOG_LEVEL: "info", NEXUS_LOG_FORMAT: "json" },
      stdout: "pipe",
      stderr: "pipe",
    })
    const health = await until(() => fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined), Boolean, { timeoutMs: 5000, everyMs: 25, what: "the server answering" })
    expect(health!.status).toBe(200)
    proc.kill("SIGTERM")
    expect(await proc.exited).toBe(0)
    const log = await new Response(proc.stderr).text()
    expect(log).toContain('"level":"info"') // env level beat the file's "error"
  })

  // /proc is how this is seen; elsewhere there is nothing to look at.
  test.skipIf(lacking("only on Linux", process.platform === "linux"))("runs itself again with the serving settings, keeping one the user set", async () => {
    const n = await spawnNexus(`[[backends]]\nname = "v"\nurl = "${emu.url}"\ntype = "vllm"\n`, {
      env: { BUN_CONFIG_MAX_HTTP_REQUESTS: "", BUN_JSC_largeHeapSize: "25165824" },
    })
    try {
      const environ = readFileSync(`/proc/${n.proc.pid}/environ`, "utf8").split("\0")
      expect(environ).toContain("BUN_CONFIG_MAX_HTTP_REQUESTS=16384")
      expect(environ).toContain("BUN_JSC_largeHeapSize=25165824")
    } finally {
      await n.stop()
    }
  })

  test("SIGTERM stops accepting, lets an in-flight stream finish, and exits 0", async () => {
    const nexus = await spawnNexus(`[[backends]]\nname = "v"\nurl = "${emu.url}"\ntype = "vllm"`)
    const res = await fetch(`${nexus.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "x" }] }),
    })
    const reader = res.body!.getReader()
    await reader.read()
    nexus.proc.kill("SIGTERM")
    // New connections are refused while the stream (1 s of chunks) is still going.
    const health = () => fetch(`${nexus.url}/health`).then(() => "accepted", () => "refused")
    await until(health, (answer) => answer === "refused", { timeoutMs: 5000, everyMs: 20, what: "new connections refused" })
    const rest = await readRest(reader)
    expect(rest.trimEnd().endsWith("data: [DONE]")).toBe(true)
    expect(rest).not.toContain('"error"')
    expect(await nexus.proc.exited).toBe(0)
    expect(nexus.output()).toContain("draining")
  }, 20_000)
})
