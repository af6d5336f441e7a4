/**
 * Loading the configuration: the original README's file, defaults, case-insensitive enums,
 * normalisation, and precedence of flags over environment over file over defaults.
 */
import { describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
// Providers declare where they run (cloud or not, default URL); configuration reads it.
import "../../src/egress/providers/index.ts"
import { ConfigError } from "../../src/config/errors.ts"
import { describeDiff, diffConfig } from "../../src/registry/diff.ts"
import { defaultConfig, loadConfig, parseConfigText, validateConfig } from "../../src/config/load.ts"

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

/** The message of the ConfigError that `fn` throws (awaited when it returns a promise). */
async function rejection(fn: () => unknown): Promise<string> {
  try {
    await fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as ConfigError).message
  }
  throw new Error("expected a ConfigError")
}

describe("the file", () => {
  test("the original README's example loads unchanged with the right values", () => {
    const c = parseConfigText(ORIGINAL_README, "nexus.toml")
    expect(c.server.host).toBe("0.0.0.0")
    expect(c.server.port).toBe(8000)
    expect(c.discovery.enabled).toBe(true)
    expect(c.backends).toEqual([
      { name: "local-ollama", url: "http://localhost:11434", type: "ollama", priority: 1, tier: 1, zone: "restricted", models: [] },
      { name: "gpu-server", url: "http://192.168.1.100:8000", type: "vllm", priority: 2, tier: 1, zone: "restricted", models: [] },
    ])
    // Everything it does not mention keeps its default.
    const { backends: _b, ...rest } = c
    const { backends: _d, ...defaults } = defaultConfig()
    expect(rest).toEqual(defaults)
  })

  test("defaults", () => {
    expect(defaultConfig()).toEqual({
      server: {
        host: "0.0.0.0",
        port: 8000,
        request_timeout_seconds: 300,
        first_byte_timeout_seconds: 60,
        cold_first_byte_timeout_seconds: 180,
        max_body_bytes: 10485760,
        sse_heartbeat_seconds: 5,
        max_frame_bytes: 67108864,
        client_stall_seconds: 120,
        shutdown_timeout_seconds: 30,
        allowed_hosts: [],
        max_event_subscribers: 64,
      },
      discovery: {
        enabled: true,
        service_types: ["_ollama._tcp", "_llm._tcp"],
        grace_period_seconds: 60,
        probe_hosts: [],
        probe_ports: [11434, 1234, 8000, 8080, 52415],
        probe_interval_seconds: 30,
        advertise: true,
      },
      health_check: { enabled: true, interval_seconds: 30, timeout_seconds: 5, failure_threshold: 3, recovery_threshold: 2 },
      routing: {
        strategy: "smart",
        max_retries: 2,
        weights: { priority: 50, load: 30, latency: 20, warm: 10, errors: 10 },
        aliases: {},
        fallbacks: {},
        sessions: { enabled: true, max_entries: 10000, idle_seconds: 1800, spill_margin: 0.15 },
        circuit_breaker: { failure_threshold: 5, cooldown_seconds: 30 },
        policies: [],
      },
      backends: [],
      queue: { max_size: 100, max_wait_seconds: 30 },
      responses: { max_stored: 10000, max_age_days: 30 },
      fleet: { enabled: true, loading_status: false, auto: false, prewarm_minutes: 5, idle_unload_minutes: 15, pins: [] },
      logging: { level: "info", format: "pretty" },
      auth: { required: false, public_health: true, public_metrics: true },
      state: { on_unavailable: "open" },
      pricing: {},
    })
    expect(parseConfigText("", "empty.toml")).toEqual(defaultConfig())
  })

  test("each defaultConfig() is a fresh object", () => {
    const a = defaultConfig()
    a.discovery.probe_ports.push(1)
    a.routing.aliases.x = "y"
    a.server.port = 1
    expect(defaultConfig().discovery.probe_ports).toHaveLength(5)
    expect(defaultConfig().routing.aliases).toEqual({})
    expect(defaultConfig().server.port).toBe(8000)
  })

  test("enum values are case-insensitive; llama.cpp and llama_cpp mean llamacpp", () => {
    const c = parseConfigText(
      `[routing]
strategy = "Round_Robin"
[logging]
level = "DEBUG"
format = "JSON"
[[backends]]
name = "a"
url = "http://a:1"
type = "llama.cpp"
zone = "Open"
[[backends]]
name = "b"
url = "http://b:1"
type = "llama_cpp"
[[backends]]
name = "c"
url = "http://c:1"
type = "OLLAMA"
zone = "Restricted"
[[backends]]
name = "d"
url = "https://api.openai.com"
type = "OpenAI"
`,
      "x.toml"
    )
    expect(c.routing.strategy).toBe("round_robin")
    expect(c.logging).toEqual({ level: "debug", format: "json" })
    expect(c.backends.map((b) => [b.type, b.zone])).toEqual([
      ["llamacpp", "open"],
      ["llamacpp", "restricted"],
      ["ollama", "restricted"],
      ["openai", "open"],
    ])
  })

  test("partial weights keep the defaults of the keys left out", () => {
    const c = parseConfigText(`[routing.weights]\npriority = 60\nload = 20\nwarm = 0`, "x.toml")
    expect(c.routing.weights).toEqual({ priority: 60, load: 20, latency: 20, warm: 0, errors: 10 })
  })

  test("mDNS service types lose a trailing .local and are lower case", () => {
    const c = parseConfigText(`[discovery]\nservice_types = ["_llm._tcp.local.", "_Ollama._TCP.local", "_exo._tcp"]`, "x.toml")
    expect(c.discovery.service_types).toEqual(["_llm._tcp", "_ollama._tcp", "_exo._tcp"])
  })

  test("probe hosts: names, addresses, with or without a port", () => {
    const hosts = ["gpu-box.local", "192.168.1.50:11434", "[::1]:8000", "fe80::1", "localhost"]
    const c = parseConfigText(`[discovery]\nprobe_hosts = ${JSON.stringify(hosts)}`, "x.toml")
    expect(c.discovery.probe_hosts).toEqual(hosts)
  })

  test("a backend with every key, and model overrides", () => {
    const c = parseConfigText(
      `[[backends]]
name = " cloud "
url = "https://api.openai.com"
type = "openai"
priority = -5
api_key_env = "OPENAI_API_KEY"
zone = "restricted"
tier = 5
timeout_seconds = 2.5
max_concurrent = 8
[[backends.models]]
name = "gpt-4o"
context_length = 128000
vision = true
tools = true
json_mode = true
embeddings = false
`,
      "x.toml"
    )
    expect(c.backends[0]).toEqual({
      name: "cloud",
      url: "https://api.openai.com",
      type: "openai",
      priority: -5,
      api_key_env: "OPENAI_API_KEY",
      zone: "restricted",
      tier: 5,
      timeout_seconds: 2.5,
      max_concurrent: 8,
      models: [{ name: "gpt-4o", context_length: 128000, vision: true, tools: true, json_mode: true, embeddings: false }],
    })
  })

  test("aliases, fallbacks, an alias chain of 3 hops, a byte-order mark and CRLF line ends", () => {
    const text = '\uFEFF[routing.aliases]\r\n"gpt-4" = "a"\r\na = "b"\r\nb = "llama3"\r\n[routing.fallbacks]\r\nllama3 = ["qwen", "phi"]\r\n'
    const c = parseConfigText(text, "x.toml")
    expect(c.routing.aliases).toEqual({ "gpt-4": "a", a: "b", b: "llama3" })
    expect(c.routing.fallbacks).toEqual({ llama3: ["qwen", "phi"] })
  })

  test("validateConfig checks objects too, without line numbers", async () => {
    const msg = await rejection(() => validateConfig({ server: { port: "x" } }, "admin API"))
    expect(msg).toContain('admin API: server.port: expected an integer between 1 and 65535, got "x"')
  })
})

describe("precedence: flags > env > file > defaults", () => {
  const dir = mkdtempSync(join(tmpdir(), "nexus-cfg-"))
  const file = join(dir, "n.toml")
  writeFileSync(
    file,
    `[server]\nport = 9001\nhost = "127.0.0.1"\n[logging]\nlevel = "warn"\nformat = "json"\n[discovery]\nenabled = false\n[health_check]\nenabled = false\n`
  )

  test("the file beats the defaults", async () => {
    const { config, path } = await loadConfig({ path: file, env: {} })
    expect(path).toBe(file)
    expect([config.server.port, config.server.host, config.logging.level, config.logging.format]).toEqual([9001, "127.0.0.1", "warn", "json"])
    expect([config.discovery.enabled, config.health_check.enabled]).toEqual([false, false])
  })

  test("the environment beats the file", async () => {
    const env = {
      NEXUS_PORT: "9002",
      NEXUS_HOST: "::",
      NEXUS_LOG_LEVEL: "Debug",
      NEXUS_LOG_FORMAT: "pretty",
      NEXUS_DISCOVERY: "yes",
      NEXUS_HEALTH_CHECK: "ON",
    }
    const { config } = await loadConfig({ path: file, env })
    expect([config.server.port, config.server.host, config.logging.level, config.logging.format]).toEqual([9002, "::", "debug", "pretty"])
    expect([config.discovery.enabled, config.health_check.enabled]).toEqual([true, true])
  })

  test("flags beat the environment", async () => {
    const env = { NEXUS_PORT: "9002", NEXUS_HOST: "::", NEXUS_LOG_LEVEL: "debug", NEXUS_LOG_FORMAT: "pretty", NEXUS_DISCOVERY: "1", NEXUS_HEALTH_CHECK: "1" }
    const flags = { port: "9003", host: "localhost", logLevel: "error", logFormat: "json", discovery: false, healthCheck: false }
    const { config } = await loadConfig({ path: file, env, flags })
    expect([config.server.port, config.server.host, config.logging.level, config.logging.format]).toEqual([9003, "localhost", "error", "json"])
    expect([config.discovery.enabled, config.health_check.enabled]).toEqual([false, false])
    expect((await loadConfig({ path: file, env, flags: { port: 9004 } })).config.server.port).toBe(9004)
  })

  test("a layer only overrides what it sets; an empty variable counts as unset", async () => {
    const { config } = await loadConfig({ path: file, env: { NEXUS_PORT: "", NEXUS_LOG_LEVEL: "error" }, flags: { host: "10.0.0.1" } })
    expect([config.server.port, config.server.host, config.logging.level, config.logging.format]).toEqual([9001, "10.0.0.1", "error", "json"])
  })

  test("booleans accept true/false, 1/0, yes/no, on/off in any case", async () => {
    for (const [value, expected] of [["TRUE", true], ["0", false], ["No", false], ["on", true], [" off ", false], ["1", true]] as const) {
      const { config } = await loadConfig({ cwd: dir, env: { NEXUS_DISCOVERY: value, NEXUS_HEALTH_CHECK: value } })
      expect([config.discovery.enabled, config.health_check.enabled]).toEqual([expected, expected])
    }
  })

  test("NEXUS_ADMIN_TOKEN sets the admin token", async () => {
    const { config } = await loadConfig({ cwd: dir, env: { NEXUS_ADMIN_TOKEN: "a-long-token" } })
    expect(config.server.admin_token).toBe("a-long-token")
  })
})

describe("which file", () => {
  const dir = mkdtempSync(join(tmpdir(), "nexus-cfg-"))
  writeFileSync(join(dir, "nexus.toml"), `[server]\nport = 7001\n`)
  writeFileSync(join(dir, "other.toml"), `[server]\nport = 7002\n`)
  writeFileSync(join(dir, "third.toml"), `[server]\nport = 7003\n`)
  const empty = mkdtempSync(join(tmpdir(), "nexus-cfg-empty-"))

  test("nexus.toml in cwd by default; NEXUS_CONFIG over it; --config over both; relative to cwd", async () => {
    expect(await loadConfig({ cwd: dir, env: {} }).then((r) => [r.path, r.config.server.port])).toEqual([join(dir, "nexus.toml"), 7001])
    const env = { NEXUS_CONFIG: "other.toml" }
    expect(await loadConfig({ cwd: dir, env }).then((r) => [r.path, r.config.server.port])).toEqual([join(dir, "other.toml"), 7002])
    expect(await loadConfig({ cwd: dir, env, flags: { config: "third.toml" } }).then((r) => r.config.server.port)).toBe(7003)
    expect(await loadConfig({ cwd: dir, env, flags: { config: "third.toml" }, path: "nexus.toml" }).then((r) => r.config.server.port)).toBe(7001)
  })

  test("no default file: zero-config, all defaults and no backends", async () => {
    const { config, path } = await loadConfig({ cwd: empty, env: {} })
    expect(path).toBeNull()
    expect(config).toEqual(defaultConfig())
  })

  test("a missing file named explicitly is an error naming the path and where it came from", async () => {
    const missing = join(empty, "nope.toml")
    expect(await rejection(() => loadConfig({ cwd: empty, env: {}, flags: { config: missing } }))).toBe(
      `Config file not found: ${missing} (from --config). Create one with \`nexus config init --output ${missing}\`.`
    )
    expect(await rejection(() => loadConfig({ cwd: empty, env: { NEXUS_CONFIG: "nope.toml" } }))).toContain(`${missing} (from NEXUS_CONFIG)`)
    expect(await rejection(() => loadConfig({ cwd: empty, env: {}, path: missing }))).toContain(`Config file not found: ${missing}.`)
  })

  test("a directory is not a config file", async () => {
    const sub = join(empty, "sub.toml")
    mkdirSync(sub, { recursive: true })
    expect(await rejection(() => loadConfig({ cwd: empty, env: {}, flags: { config: sub } }))).toBe(`Cannot read config file ${sub}: it is a directory`)
  })

  test("the file's problems are reported with its absolute path", async () => {
    const bad = join(empty, "bad.toml")
    writeFileSync(bad, `[server]\nport = 0\n`)
    expect(await rejection(() => loadConfig({ cwd: empty, env: {}, flags: { config: "bad.toml" } }))).toContain(`${bad}:2: server.port`)
  })
})

describe("bad values from the environment and flags name their source", () => {
  const cwd = mkdtempSync(join(tmpdir(), "nexus-cfg-"))
  const load = (env: Record<string, string>, flags = {}) => rejection(() => loadConfig({ cwd, env, flags }))

  test("environment variables", async () => {
    expect(await load({ NEXUS_PORT: "abc" })).toBe('NEXUS_PORT="abc": expected an integer between 1 and 65535')
    expect(await load({ NEXUS_PORT: "70000" })).toBe('NEXUS_PORT="70000": expected an integer between 1 and 65535')
    expect(await load({ NEXUS_PORT: "80.5" })).toContain("NEXUS_PORT=")
    expect(await load({ NEXUS_HOST: "http://0.0.0.0" })).toContain('NEXUS_HOST="http://0.0.0.0": expected an address to bind')
    expect(await load({ NEXUS_LOG_LEVEL: "loud" })).toBe('NEXUS_LOG_LEVEL="loud": expected one of: silent, error, warn, info, debug, trace')
    expect(await load({ NEXUS_LOG_FORMAT: "xml" })).toBe('NEXUS_LOG_FORMAT="xml": expected one of: pretty, json')
    expect(await load({ NEXUS_DISCOVERY: "maybe" })).toBe('NEXUS_DISCOVERY="maybe": expected true or false (also 1/0, yes/no, on/off)')
    expect(await load({ NEXUS_HEALTH_CHECK: "2" })).toContain('NEXUS_HEALTH_CHECK="2"')
  })

  test("a secret is never repeated back", async () => {
    const msg = await load({ NEXUS_ADMIN_TOKEN: "hunter2" })
    expect(msg).toBe("NEXUS_ADMIN_TOKEN: expected a token of at least 8 characters")
    expect(msg).not.toContain("hunter2")
  })

  test("flags", async () => {
    expect(await load({}, { port: "0" })).toBe('--port="0": expected an integer between 1 and 65535')
    expect(await load({}, { port: 3.5 })).toBe("--port=3.5: expected an integer between 1 and 65535")
    expect(await load({}, { logLevel: "verbose" })).toContain('--log-level="verbose": expected one of:')
    expect(await load({}, { logFormat: "xml" })).toContain('--log-format="xml"')
    expect(await load({}, { host: "a b" })).toContain('--host="a b"')
    expect(await load({}, { config: "" })).toBe("--config: expected the path of a TOML file")
  })

  test("every bad value is reported at once", async () => {
    const msg = await load({ NEXUS_PORT: "x", NEXUS_LOG_FORMAT: "xml" }, { logLevel: "loud" })
    expect(msg.split("\n")).toEqual([
      "Invalid settings from the environment or command line:",
      '  NEXUS_PORT="x": expected an integer between 1 and 65535',
      '  NEXUS_LOG_FORMAT="xml": expected one of: pretty, json',
      '  --log-level="loud": expected one of: silent, error, warn, info, debug, trace',
    ])
  })
})

describe("[state]", () => {
  test("a Redis or Valkey URL, a password variable, open or closed", () => {
    const c = parseConfigText('[state]\nurl = "rediss://cache.lan:6380/2"\npassword_env = "NEXUS_REDIS_PASSWORD"\non_unavailable = "Closed"\n', "nexus.toml")
    expect(c.state).toEqual({ url: "rediss://cache.lan:6380/2", password_env: "NEXUS_REDIS_PASSWORD", on_unavailable: "closed" })
  })

  test("bad values name the key and what is allowed", async () => {
    for (const url of ["http://cache:6379", "redis://", "cache:6379", "redis://h:6379/zero"]) {
      const message = await rejection(() => parseConfigText(`[state]\nurl = "${url}"\n`, "nexus.toml"))
      expect(message).toContain("state.url")
      expect(message).toContain("redis://")
    }
    expect(await rejection(() => parseConfigText('[state]\non_unavailable = "maybe"\n', "nexus.toml"))).toContain("expected one of: open, closed")
    expect(await rejection(() => parseConfigText('[state]\npassword_env = "a password"\n', "nexus.toml"))).toContain("state.password_env")
    expect(await rejection(() => parseConfigText('[state]\nurll = "redis://h"\n', "nexus.toml"))).toContain("url")
  })

  test("a reload says that a changed [state] takes effect after a restart", () => {
    const before = defaultConfig()
    const after = { ...before, state: { url: "redis://cache:6379/0", on_unavailable: "closed" as const } }
    const d = diffConfig(before, after)
    expect(d.needsRestart).toEqual(["state.on_unavailable", "state.url"])
    expect(describeDiff(d)).toContain("state.url changed (takes effect after a restart)")
  })
})
