/**
 * The operator CLI against a running server: `nexus backends|models|health` as a user
 * runs them (a separate process), their tables and JSON shapes, what they say when no
 * server answers, and the completion scripts loaded in bash, zsh and fish.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseConfigText } from "../../src/config/load.ts"
import { freePort, startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { MAIN } from "../helpers/process.ts"
import { lacking } from "../helpers/skip.ts"
import { eventually } from "../helpers/wait.ts"


async function nexusCli(args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], {
    env: { ...process.env, NO_COLOR: "", NEXUS_URL: "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { stdout, stderr, code }
}

let ollama: Emulator
let vllm: Emulator
let n: TestNexus
beforeAll(async () => {
  ollama = await startOllama({ models: [{ id: "llama3.2:3b", contextLength: 8192, capabilities: ["completion", "tools"] }] })
  vllm = await startVllm({ models: [{ id: "qwen2.5-7b", contextLength: 32768 }] })
  n = await startNexus({ backends: [backend("kitchen-pc", ollama.url, "ollama"), backend("gpu-box", vllm.url, "vllm", { priority: 10 })] })
})
afterAll(async () => {
  await n.stop(0)
  await Promise.all([ollama.stop(), vllm.stop()])
})

describe("talking to the running server", () => {
  test("backends list: an aligned table, plain when piped", async () => {
    const r = await nexusCli(["backends", "list", "--url", n.url])
    expect(r.code).toBe(0)
    const lines = r.stdout.trimEnd().split("\n")
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+TYPE\s+URL\s+MODELS\s+IN FLIGHT\s+TTFT\s+SOURCE$/)
    expect(lines).toHaveLength(3)
    const row = lines.find((l) => l.startsWith("gpu-box"))!
    expect(row).toContain("✓ healthy")
    expect(row).toContain(vllm.url)
    expect(row).not.toContain("\u001b[") // no colour when stdout is a pipe
    // Columns line up: STATUS starts at the same offset on every line.
    const col = lines[0]!.indexOf("STATUS")
    for (const l of lines.slice(1)) expect(l.slice(col)).toMatch(/^✓ healthy/)
  })

  test.skipIf(lacking("script (util-linux) is not installed", Bun.which("script")))("on a terminal the status marks are in colour (and NO_COLOR turns it off)", async () => {
    // `script` gives the command a pseudo-terminal as stdout.
    const onTty = async (env: Record<string, string>) => {
      const cmd = `${process.execPath} ${MAIN} backends list --url ${n.url}`
      const p = Bun.spawn(["script", "-qec", cmd, "/dev/null"], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" })
      const out = await new Response(p.stdout).text()
      expect(await p.exited).toBe(0)
      return out
    }
    const coloured = await onTty({ NO_COLOR: "" })
    expect(coloured).toContain("\u001b[32m✓ healthy\u001b[0m")
    // Columns still line up: escapes do not count as width.
    const lines = coloured.replace(/\u001b\[[0-9;]*m/g, "").replace(/\r/g, "").trimEnd().split("\n")
    const col = lines[0]!.indexOf("TYPE")
    for (const l of lines.slice(1)) expect(l.slice(col)).toMatch(/^(ollama|vllm)\s/)
    expect(await onTty({ NO_COLOR: "1" })).not.toContain("\u001b[")
  })

  test("backends list --json is the documented shape; --status filters", async () => {
    const r = await nexusCli(["backends", "list", "--json"], { NEXUS_URL: n.url })
    expect(r.code).toBe(0)
    const { backends } = JSON.parse(r.stdout)
    expect(backends.map((b: { id: string }) => b.id).sort()).toEqual(["gpu-box", "kitchen-pc"])
    const gpu = backends.find((b: { id: string }) => b.id === "gpu-box")
    expect(gpu).toMatchObject({ name: "gpu-box", type: "vllm", status: "healthy", source: "config", priority: 10, in_flight: 0 })
    expect(gpu.models).toEqual([{ id: "qwen2.5-7b", context_length: 32768, loaded: null, vram_bytes: null, size_bytes: null, expires_at: null }]) // vLLM does not say what is loaded: unknown
    const none = await nexusCli(["backends", "list", "--url", n.url, "--status", "unhealthy"])
    expect(none.stdout).toBe(`No backends with status unhealthy at ${n.url}.\n`)
  })

  test("models and health, as tables and as JSON", async () => {
    const models = await nexusCli(["models", "--url", n.url])
    expect(models.stdout).toMatch(/^MODEL\s+CONTEXT\s+CAPABILITIES\s+BACKENDS\n/)
    expect(models.stdout).toMatch(/llama3\.2:3b\s+8192\s+tools,json_mode\s+kitchen-pc/)
    const onlyGpu = JSON.parse((await nexusCli(["models", "--url", n.url, "--json", "--backend", "gpu-box"])).stdout)
    expect(onlyGpu.models.map((m: { id: string }) => m.id)).toEqual(["qwen2.5-7b"])

    const health = await nexusCli(["health", "--url", n.url])
    expect(health.code).toBe(0)
    expect(health.stdout).toContain("✓ healthy")
    expect(health.stdout).toContain("backends: 2/2 healthy")
    expect(health.stdout).toContain("models: 2")
    const json = JSON.parse((await nexusCli(["health", "--json", "--url", n.url])).stdout)
    expect(json).toMatchObject({ status: "healthy", backends: { total: 2, healthy: 2 }, models: 2 })
  })

  test("backends add (type detected), drain, undrain and remove change the server", async () => {
    const extra = await startOllama({ models: [{ id: "phi4:14b" }] })
    try {
      const added = await nexusCli(["backends", "add", extra.url, "--name", "attic", "--json", "--url", n.url])
      expect(added.code).toBe(0)
      expect(JSON.parse(added.stdout)).toMatchObject({ id: "attic", type: "ollama", source: "admin", status: "healthy" })
      expect(n.deps.registry.get("attic")?.models.has("phi4:14b")).toBe(true)

      expect((await nexusCli(["backends", "drain", "attic", "--url", n.url])).stdout).toBe("Draining attic\n")
      expect(n.deps.registry.get("attic")?.status).toBe("draining")
      expect((await nexusCli(["backends", "undrain", "attic", "--url", n.url])).stdout).toBe("Undrained attic\n")
      // Out of draining at once; back in rotation after the probe the undrain starts.
      expect(n.deps.registry.get("attic")?.status).not.toBe("draining")
      await eventually(() => n.deps.registry.get("attic")?.status === "healthy", 10_000, "attic healthy again")
      expect((await nexusCli(["backends", "remove", "attic", "--url", n.url])).code).toBe(0)
      expect(n.deps.registry.get("attic")).toBeUndefined()
    } finally {
      await extra.stop()
    }
  })

  test("errors from the server are shown as sentences, exit 1", async () => {
    const r = await nexusCli(["backends", "remove", "no-such-backend", "--url", n.url])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`Error from ${n.url}: no backend with id no-such-backend\n`)
    const bad = await nexusCli(["backends", "add", "http://127.0.0.1:9", "--type", "tgi", "--url", n.url])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--type="tgi": expected one of: ollama, vllm')
  })

  test("no server: says so with the URL tried, exit 1, no stack trace", async () => {
    const url = `http://127.0.0.1:${freePort()}`
    for (const cmd of [["health"], ["models"], ["backends", "list"]]) {
      const r = await nexusCli([...cmd, "--url", url])
      expect(r.code).toBe(1)
      expect(r.stderr).toStartWith(`No Nexus server answers at ${url}`)
      expect(r.stderr).not.toContain("    at ")
    }
    const fromEnv = await nexusCli(["health"], { NEXUS_URL: url })
    expect(fromEnv.stderr).toStartWith(`No Nexus server answers at ${url}`)
  })
})

describe("command flags are checked by the file's rules, in the file's words", () => {
  /** What loading `toml` says is expected, without the file, line, key and "got". */
  const fileSays = (toml: string) => {
    try {
      parseConfigText(toml, "nexus.toml")
    } catch (err) {
      return /: (expected .*), got /.exec((err as Error).message)![1]
    }
    throw new Error(`${toml} loaded`)
  }

  test("advertise: every bad flag listed, exit 2", async () => {
    const r = await nexusCli(["advertise", "--ports", "11434,x", "--interval", "0", "--log-level", "loud"])
    expect(r.code).toBe(2)
    expect(r.stderr.split("\n")).toEqual([
      `--log-level="loud": ${fileSays('[logging]\nlevel = "loud"')}`,
      `--ports[1]="x": ${fileSays('[discovery]\nprobe_ports = ["x"]')}`,
      `--interval="0": ${fileSays("[discovery]\nprobe_interval_seconds = 0")}`,
      "",
    ])
  })

  test("backends add: every bad flag listed before any request; spellings the file accepts pass", async () => {
    const backendToml = (line: string) => `[[backends]]\nname = "b"\nurl = "http://b:1"\ntype = "vllm"\n${line}`
    const r = await nexusCli(["backends", "add", "http://127.0.0.1:9", "--type", "tgi", "--priority", "5000", "--api-key-env", "sk-123", "--url", n.url])
    expect(r.code).toBe(2)
    expect(r.stderr.split("\n")).toEqual([
      `--type="tgi": ${fileSays('[[backends]]\nname = "b"\nurl = "http://b:1"\ntype = "tgi"')}`,
      `--priority="5000": ${fileSays(backendToml("priority = 5000"))}`,
      `--api-key-env="sk-123": ${fileSays(backendToml('api_key_env = "sk-123"'))}`,
      "",
    ])
    // Accepted by the CLI, so the request is made (to a port where nothing listens).
    const nobody = `http://127.0.0.1:${freePort()}`
    const ok = await nexusCli(["backends", "add", "http://127.0.0.1:9", "--type", "LLAMA.CPP", "--priority", "-5", "--url", nobody])
    expect(ok.stderr).toStartWith(`No Nexus server answers at ${nobody}`)
  })
})

describe("--version and --help", () => {
  test("--version prints version, commit and target", async () => {
    const r = await nexusCli(["--version"])
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+ \(\S+, bun-(linux|darwin|windows)-(x64|arm64)\)$/)
  })

  test("every command has help with examples", async () => {
    for (const cmd of [["serve"], ["advertise"], ["config", "init"], ["backends", "list"], ["backends", "add"], ["models"], ["health"], ["launch"], ["completions"]]) {
      const r = await nexusCli([...cmd, "--help"], { NO_COLOR: "1" })
      expect(r.code).toBe(0)
      expect(r.stdout).toContain("Example")
      expect(r.stdout).toContain(`nexus ${cmd.join(" ")}`)
    }
  })
})

describe("completions, loaded in their shells", () => {
  const dir = mkdtempSync(join(tmpdir(), "nexus-completions-"))
  const script = async (shell: string) => {
    const r = await nexusCli(["completions", shell])
    expect(r.code).toBe(0)
    const path = join(dir, `nexus.${shell}`)
    writeFileSync(path, r.stdout)
    return path
  }
  const run = async (cmd: string[]) => {
    const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: { ...process.env, HOME: dir } })
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
    expect(err).toBe("")
    expect(code).toBe(0)
    return out
  }
  const haveShell = (s: string) => Bun.which(s) !== null

  test("an unknown shell is an error naming the choices", async () => {
    for (const shell of ["tcsh", "toString"]) {
      const r = await nexusCli(["completions", shell])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain("expected bash, zsh or fish")
    }
  })

  test.skipIf(lacking("bash is not installed", haveShell("bash")))("bash: commands, subcommands, flags, --no- flags and shell names", async () => {
    const path = await script("bash")
    const complete = (words: string[]) =>
      run([
        "bash",
        "-c",
        `source ${path}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _nexus_completions; echo "\${COMPREPLY[*]}"`,
      ]).then((s) => s.trim().split(" "))
    expect(await complete(["nexus", ""])).toEqual(["serve", "config", "backends", "models", "fleet", "health", "budget", "keys", "advertise", "launch", "completions", "--help", "--version"])
    expect(await complete(["nexus", "backends", ""])).toEqual(["list", "add", "remove", "drain", "undrain", "--help"])
    expect(await complete(["nexus", "backends", "list", "--"])).toEqual(["--url", "--json", "--status", "--help"])
    expect(await complete(["nexus", "serve", "--no-"])).toEqual(["--no-discovery", "--no-health-check"])
    expect(await complete(["nexus", "completions", "z"])).toEqual(["zsh"])
    expect(await run(["bash", "-c", `source ${path}; complete -p nexus`])).toBe("complete -F _nexus_completions nexus\n")
  })

  test.skipIf(lacking("zsh is not installed", haveShell("zsh")))("zsh: loads under compinit and offers the same words", async () => {
    const path = await script("zsh")
    // Loaded the way users load it: compinit, then the script (which calls compdef).
    expect(await run(["zsh", "-f", "-c", `autoload -U compinit && compinit -u -D && source ${path} && print \${_comps[nexus]}`])).toBe("_nexus\n")
    // compadd only works inside a completion widget; capture what the function offers.
    const complete = (words: string[]) =>
      run([
        "zsh",
        "-f",
        "-c",
        `compdef() {}; compadd() { shift; print -l -- "$@" }; source ${path}; words=(${words.map((w) => `'${w}'`).join(" ")}); CURRENT=${words.length}; _nexus`,
      ]).then((s) => s.trim().split("\n"))
    expect(await complete(["nexus", "config", ""])).toEqual(["init", "validate", "--help"])
    expect(await complete(["nexus", "config", "init", ""])).toEqual(["--output", "--force", "--minimal", "--help"])
    expect(await complete(["nexus", "--json", "models", ""])).toEqual(["load", "unload", "pin", "unpin", "--url", "--json", "--backend", "--help"])
  })

  test.skipIf(lacking("fish is not installed", haveShell("fish")))("fish: its own completion engine answers from the script", async () => {
    const path = await script("fish")
    const complete = (line: string) =>
      run(["fish", "--no-config", "-c", `source ${path}; complete -C '${line}'`]).then((s) =>
        s
          .trim()
          .split("\n")
          .map((l) => l.split("\t")[0])
          .sort()
      )
    expect(await complete("nexus ")).toEqual(["advertise", "backends", "budget", "completions", "config", "fleet", "health", "keys", "launch", "models", "serve"])
    expect(await complete("nexus backends ")).toEqual(["add", "drain", "list", "remove", "undrain"])
    expect(await complete("nexus serve --no-")).toEqual(["--no-discovery", "--no-health-check"])
    expect(await complete("nexus config init --")).toEqual(["--force", "--help", "--minimal", "--output"])
    expect(await complete("nexus completions ")).toEqual(["bash", "fish", "zsh"])
  })
})
