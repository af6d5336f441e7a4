import { describe, expect, test } from "bun:test"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigError } from "../../src/config/errors.ts"
import { defaultConfig, loadConfig, parseConfigText } from "../../src/config/load.ts"
import { FULL_TEMPLATE, MINIMAL_TEMPLATE } from "../../src/config/template.ts"

const ORIGINAL_README = `[server]
host = "0.0.0.0"
port = 8000
[discovery]
enabled = true
[[backends]]
name = "local-ollama"
url = "http://localhost:11434"
type = "ollama"
priority = 1
[[backends]]
name = "gpu-server"
url = "http://192.168.1.100:8000"
type = "vllm"
priority = 2
`

function errorOf(text: string): string {
  try {
    parseConfigText(text, "nexus.toml")
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as Error).message
  }
  throw new Error("expected a ConfigError")
}

describe("loading", () => {
  test("the original README's file loads unchanged", () => {
    const c = parseConfigText(ORIGINAL_README, "nexus.toml")
    expect(c.server).toMatchObject({ host: "0.0.0.0", port: 8000 })
    expect(c.backends.map((b) => [b.name, b.type, b.priority, b.zone])).toEqual([
      ["local-ollama", "ollama", 1, "restricted"],
      ["gpu-server", "vllm", 2, "restricted"],
    ])
  })

  test("defaults", () => {
    const c = defaultConfig()
    expect(c.server.port).toBe(8000)
    expect(c.server.max_body_bytes).toBe(10 * 1024 * 1024)
    expect(c.routing.strategy).toBe("smart")
    expect(c.health_check).toEqual({ enabled: true, interval_seconds: 30, timeout_seconds: 5, failure_threshold: 3, recovery_threshold: 2 })
    expect(c.discovery.probe_ports).toEqual([11434, 1234, 8000, 8080, 52415])
  })

  test("enum values are case-insensitive, with llama.cpp spellings", () => {
    const c = parseConfigText(
      `[routing]\nstrategy = "Round_Robin"\n[logging]\nformat = "JSON"\n[[backends]]\nname = "a"\nurl = "http://a:1"\ntype = "llama.cpp"\nzone = "Open"\n[[backends]]\nname = "b"\nurl = "https://api.openai.com"\ntype = "OpenAI"`,
      "x.toml"
    )
    expect(c.routing.strategy).toBe("round_robin")
    expect(c.logging.format).toBe("json")
    expect(c.backends.map((b) => [b.type, b.zone])).toEqual([["llamacpp", "open"], ["openai", "open"]])
  })

  test("partial weights keep the other defaults; mDNS types lose .local", () => {
    const c = parseConfigText(`[routing.weights]\nload = 80\n[discovery]\nservice_types = ["_llm._tcp.local."]`, "x.toml")
    expect(c.routing.weights).toEqual({ priority: 50, load: 80, latency: 20, warm: 10, errors: 10 })
    expect(c.discovery.service_types).toEqual(["_llm._tcp"])
  })

  test("both templates load back", () => {
    expect(parseConfigText(FULL_TEMPLATE, "full.toml")).toEqual(defaultConfig())
    expect(parseConfigText(MINIMAL_TEMPLATE, "min.toml").server.port).toBe(8000)
  })
})

describe("errors name the key, the table, the line and what is allowed", () => {
  test("unknown key with did-you-mean", () => {
    const msg = errorOf(`[server]\nport = 8000\n\n[[backends]]\nname = "a"\nurl = "http://a:1"\ntype = "vllm"\nprioirty = 3\n`)
    expect(msg).toContain("nexus.toml:8: unknown key `prioirty` in [backends[0]]; did you mean `priority`?")
  })

  test("unknown key without a close match lists the valid keys", () => {
    expect(errorOf(`[logging]\nzzzzzz = 1`)).toContain("valid keys: level, format")
  })

  test("wrong type or value names the path and what is allowed", () => {
    const msg = errorOf(`[server]\nport = 70000\n[[backends]]\nname = "a"\nurl = "ftp://a"\ntype = "vllmx"`)
    expect(msg).toContain("nexus.toml:2: server.port: expected an integer between 1 and 65535")
    expect(msg).toContain('backends[0].url: expected an http:// or https:// URL, got "ftp://a"')
    expect(msg).toContain('nexus.toml:6: backends[0].type: expected one of: ollama, vllm, llamacpp, lmstudio, exo, localai, llamafile, openai, got "vllmx"')
  })

  test("TOML syntax error shows line, column and a frame", () => {
    const msg = errorOf(`[server]\nhost = "x"\nport = = 1\n`)
    expect(msg).toStartWith("nexus.toml:3:8: TOML syntax error")
    expect(msg).toContain(">   3 | port = = 1")
    expect(msg).toContain("       ^")
  })

  test("alias cycles, long chains and duplicate names are rejected", () => {
    expect(errorOf(`[routing.aliases]\na = "b"\nb = "a"`)).toContain("alias cycle a -> b -> a")
    expect(errorOf(`[routing.aliases]\na = "b"\nb = "c"\nc = "d"\nd = "e"`)).toContain("has 4 hops; at most 3")
    expect(errorOf(`[[backends]]\nname = "x"\nurl = "http://a:1"\ntype = "vllm"\n[[backends]]\nname = "x"\nurl = "http://b:1"\ntype = "vllm"`)).toContain(
      'backends[1].name: "x" is already used by backends[0]'
    )
  })

  test("weights must not all be zero", () => {
    expect(errorOf(`[routing.weights]\npriority = 0\nload = 0\nlatency = 0\nwarm = 0\nerrors = 0`)).toContain("at least one weight")
  })
})

describe("precedence: flags > env > file > defaults", () => {
  const dir = mkdtempSync(join(tmpdir(), "nexus-cfg-"))
  const file = join(dir, "n.toml")
  writeFileSync(file, `[server]\nport = 9001\nhost = "127.0.0.1"\n[logging]\nlevel = "warn"\n`)

  test("each layer overrides the one below", async () => {
    expect((await loadConfig({ path: file, env: {} })).config.server.port).toBe(9001)
    expect((await loadConfig({ path: file, env: { NEXUS_PORT: "9002" } })).config.server.port).toBe(9002)
    const both = await loadConfig({ path: file, env: { NEXUS_PORT: "9002", NEXUS_LOG_LEVEL: "debug" }, flags: { port: "9003" } })
    expect(both.config.server.port).toBe(9003)
    expect(both.config.logging.level).toBe("debug")
    expect(both.config.server.host).toBe("127.0.0.1")
  })

  test("NEXUS_CONFIG names the file; a missing explicit file is an error; a missing default is fine", async () => {
    expect((await loadConfig({ env: { NEXUS_CONFIG: file }, cwd: dir })).path).toBe(file)
    await expect(loadConfig({ env: { NEXUS_CONFIG: join(dir, "nope.toml") } })).rejects.toThrow("Config file not found")
    const zero = await loadConfig({ env: {}, cwd: dir })
    expect(zero.path).toBeNull()
    expect(zero.config.backends).toEqual([])
  })

  test("an invalid env value names the variable and what is allowed", async () => {
    await expect(loadConfig({ env: { NEXUS_DISCOVERY: "maybe" }, cwd: dir })).rejects.toThrow('NEXUS_DISCOVERY="maybe": expected true or false')
    await expect(loadConfig({ env: { NEXUS_LOG_FORMAT: "xml" }, cwd: dir })).rejects.toThrow('NEXUS_LOG_FORMAT="xml": expected one of: pretty, json')
    await expect(loadConfig({ env: {}, flags: { port: "0" }, cwd: dir })).rejects.toThrow('--port="0"')
    const off = await loadConfig({ env: { NEXUS_HEALTH_CHECK: "OFF", NEXUS_DISCOVERY: "0" }, cwd: dir })
    expect([off.config.health_check.enabled, off.config.discovery.enabled]).toEqual([false, false])
  })
})
