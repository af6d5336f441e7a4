/**
 * `nexus config init` and `nexus config validate` run as users run them: a separate
 * process in a directory of its own, checked by exit code, stdout and stderr.
 */
import { describe, expect, test } from "bun:test"
import TOML from "@iarna/toml"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import "../../src/egress/providers/index.ts"
import { FULL_TEMPLATE, MINIMAL_TEMPLATE } from "../../src/config/template.ts"
import { MAIN } from "../helpers/process.ts"


/** A fresh working directory. */
const workdir = () => mkdtempSync(join(tmpdir(), "nexus-config-cli-"))

/** Run `nexus <args>` in `cwd` with no NEXUS_* variables but those given. */
function nexus(cwd: string, args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("NEXUS_")))
  const p = Bun.spawnSync([process.execPath, MAIN, ...args], { cwd, env: { ...clean, NO_COLOR: "1", ...env }, stdout: "pipe", stderr: "pipe" })
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() }
}

/** No stack trace lines anywhere in the output. */
function expectNoStack(output: string) {
  expect(output).not.toMatch(/^\s+at /m)
}

describe("nexus config init", () => {
  test("writes the documented template to nexus.toml and says what to do next", () => {
    const cwd = workdir()
    const r = nexus(cwd, ["config", "init"])
    expect(r.code).toBe(0)
    expect(readFileSync(join(cwd, "nexus.toml"), "utf8")).toBe(FULL_TEMPLATE)
    expect(r.stdout).toContain(join(cwd, "nexus.toml"))
    expect(r.stdout).toContain("nexus serve")
  })

  test("refuses to overwrite without --force (exit 1), overwrites with it", () => {
    const cwd = workdir()
    const file = join(cwd, "mine.toml")
    writeFileSync(file, "# my settings\n")
    const refused = nexus(cwd, ["config", "init", "--output", "mine.toml"])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(`${file} already exists`)
    expect(refused.stderr).toContain("--force")
    expectNoStack(refused.stderr)
    expect(readFileSync(file, "utf8")).toBe("# my settings\n")

    const forced = nexus(cwd, ["config", "init", "-o", "mine.toml", "--force", "--minimal"])
    expect(forced.code).toBe(0)
    expect(readFileSync(file, "utf8")).toBe(MINIMAL_TEMPLATE)
    expect(forced.stdout).toContain(`nexus serve --config ${file}`)
  })

  test("a directory that does not exist is a clear error, not a stack trace", () => {
    const cwd = workdir()
    const r = nexus(cwd, ["config", "init", "--output", "no/such/dir/nexus.toml"])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("its directory does not exist")
    expectNoStack(r.stderr)
  })
})

describe("nexus config validate", () => {
  test("a valid file: ✓, then the effective configuration as TOML, with the environment applied", () => {
    const cwd = workdir()
    writeFileSync(join(cwd, "nexus.toml"), `[server]\nport = 9100\n[[backends]]\nname = "a"\nurl = "http://a:1"\ntype = "Ollama"\n`)
    const r = nexus(cwd, ["config", "validate"], { NEXUS_LOG_LEVEL: "debug" })
    expect(r.code).toBe(0)
    const [first, ...rest] = r.stdout.split("\n")
    expect(first).toBe(`✓ ${join(cwd, "nexus.toml")} is valid`)
    const effective = TOML.parse(rest.join("\n")) as any
    expect(effective.server.port).toBe(9100)
    expect(effective.logging.level).toBe("debug")
    expect(effective.backends).toEqual([{ name: "a", url: "http://a:1", type: "ollama", priority: 50, zone: "restricted", tier: 1, models: [] }])
    expect(r.stdout).not.toContain("9_100")
  })

  test("type \"openai\" on a LAN server still works as generic, and validate says what changed", () => {
    const cwd = workdir()
    const file = `[[backends]]\nname = "lan"\nurl = "http://192.168.1.5:8000"\ntype = "openai"\n[[backends]]\nname = "cloud"\nurl = "https://api.openai.com"\ntype = "openai"\n`
    writeFileSync(join(cwd, "nexus.toml"), file)
    const r = nexus(cwd, ["config", "validate"])
    expect(r.code).toBe(0)
    const lines = r.stdout.split("\n")
    expect(lines[1]).toContain('note: backends[0] (lan): type "openai" now names the OpenAI cloud')
    expect(lines[1]).toContain('read as type "generic"')
    expect(r.stdout).not.toContain("backends[1] (cloud)")
    const effective = TOML.parse(lines.slice(lines.indexOf("")).join("\n")) as any
    expect(effective.backends.map((b: any) => [b.name, b.type, b.zone])).toEqual([
      ["lan", "generic", "restricted"],
      ["cloud", "openai", "open"],
    ])
    const json = JSON.parse(nexus(cwd, ["config", "validate", "--json"]).stdout)
    expect(json.notes).toHaveLength(1)
  })

  test("a pin on a backend no [[backends]] entry names is valid, and validate warns about it", () => {
    const cwd = workdir()
    const file = `[[backends]]\nname = "box"\nurl = "http://10.0.0.2:11434"\ntype = "ollama"\n[[fleet.pins]]\nmodel = "m:1b"\nbackend = " box "\n[[fleet.pins]]\nmodel = "m:1b"\nbackend = "gpu-bx"\n`
    writeFileSync(join(cwd, "nexus.toml"), file)
    const r = nexus(cwd, ["config", "validate"])
    expect(r.code).toBe(0)
    const notes = r.stdout.split("\n").filter((l) => l.includes("note:"))
    expect(notes).toHaveLength(1)
    expect(notes[0]).toContain('fleet.pins[1].backend: no [[backends]] entry is named "gpu-bx"')
  })

  test("--json prints JSON; secrets are masked", () => {
    const cwd = workdir()
    writeFileSync(join(cwd, "n.toml"), `[server]\nadmin_token = "file-token-123"\n[[backends]]\nname = "p"\nurl = "http://user:pw@proxy:1"\ntype = "vllm"\n`)
    const r = nexus(cwd, ["config", "validate", "--config", "n.toml", "--json"])
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.valid).toBe(true)
    expect(out.path).toBe(join(cwd, "n.toml"))
    expect(out.config.server.admin_token).toBe("***")
    expect(out.config.backends[0].url).toBe("http://user:***@proxy:1")
    expect(r.stdout).not.toContain("file-token-123")

    const fromEnv = nexus(cwd, ["config", "validate", "n.toml"], { NEXUS_ADMIN_TOKEN: "env-token-456" })
    expect(fromEnv.stdout).toContain('admin_token = "***"')
    expect(fromEnv.stdout).not.toContain("env-token-456")
  })

  test("no file in the directory: valid, on built-in defaults", () => {
    const cwd = workdir()
    const r = nexus(cwd, ["config", "validate"])
    expect(r.code).toBe(0)
    expect(r.stdout).toStartWith(`✓ no nexus.toml in ${cwd}: the built-in defaults apply\n`)
    expect(r.stdout).toContain("# No [[backends]] configured. Discovery finds servers by itself.")
  })

  test("an invalid file: exit 2, every problem on stderr, no stack trace", () => {
    const cwd = workdir()
    const file = join(cwd, "bad.toml")
    writeFileSync(file, `[server]\nport = "eighty"\n[health_check]\nintervl_seconds = 5\n[routing.weights]\nload = 90\n`)
    const r = nexus(cwd, ["config", "validate", "--config", file])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr.trim().split("\n")).toEqual([
      `Invalid configuration in ${file} (3 problems):`,
      `  ${file}:2: server.port: expected an integer between 1 and 65535, got "eighty"`,
      `  ${file}:4: unknown key \`intervl_seconds\` in [health_check]; did you mean \`interval_seconds\`?`,
      `  ${file}:5: routing.weights: priority + load + latency must add up to 100, got 50 + 90 + 20 = 160 (a key left out keeps its default)`,
    ])
    expectNoStack(r.stderr)

    const json = nexus(cwd, ["config", "validate", file, "--json"])
    expect(json.code).toBe(2)
    const out = JSON.parse(json.stdout)
    expect(out.valid).toBe(false)
    expect(out.problems).toHaveLength(3)
    expect(out.problems[0]).toBe(`${file}:2: server.port: expected an integer between 1 and 65535, got "eighty"`)
  })

  test("a TOML syntax error: exit 2 with line, column and frame", () => {
    const cwd = workdir()
    writeFileSync(join(cwd, "nexus.toml"), `[server]\nport = 80 80\n`)
    const r = nexus(cwd, ["config", "validate"])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`${join(cwd, "nexus.toml")}:2:`)
    expect(r.stderr).toContain("> 2 | port = 80 80")
    expectNoStack(r.stderr)
  })

  test("a missing file named by --config or NEXUS_CONFIG, and a bad environment variable: exit 2", () => {
    const cwd = workdir()
    const missing = nexus(cwd, ["config", "validate", "--config", "nope.toml"])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain(`Config file not found: ${join(cwd, "nope.toml")} (from --config)`)
    expect(nexus(cwd, ["config", "validate"], { NEXUS_CONFIG: "gone.toml" }).stderr).toContain("(from NEXUS_CONFIG)")
    const badEnv = nexus(cwd, ["config", "validate"], { NEXUS_PORT: "abc" })
    expect(badEnv.code).toBe(2)
    expect(badEnv.stderr.trim()).toBe('NEXUS_PORT="abc": expected an integer between 1 and 65535')
    expectNoStack(missing.stderr + badEnv.stderr)
  })

  test("init then validate: the written template is valid", () => {
    const cwd = workdir()
    mkdirSync(join(cwd, "etc"))
    expect(nexus(cwd, ["config", "init", "-o", "etc/nexus.toml"]).code).toBe(0)
    expect(existsSync(join(cwd, "etc/nexus.toml"))).toBe(true)
    const r = nexus(cwd, ["config", "validate", "-c", "etc/nexus.toml"])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("[routing.weights]")
  })
})
