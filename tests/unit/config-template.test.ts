/**
 * The `nexus config init` templates: they load back, show the real defaults, document
 * every key, and their commented-out examples are valid once uncommented.
 */
import { describe, expect, test } from "bun:test"
// Providers declare where they run (cloud or not, default URL); configuration reads it.
import "../../src/egress/providers/index.ts"
import { defaultConfig, parseConfigText } from "../../src/config/load.ts"
import { TABLE_KEYS } from "../../src/config/schema.ts"
import { FULL_TEMPLATE, MINIMAL_TEMPLATE } from "../../src/config/template.ts"

/** Uncomment lines that are TOML (`# key = value`, `# [table]`), leaving prose comments. */
function uncomment(text: string): string {
  return text
    .split("\n")
    .map((line) => (/^# (\[|("[^"]+"|[A-Za-z0-9_.-]+)\s*=\s*\S)/.test(line) ? line.slice(2) : line))
    .join("\n")
}

describe("full template", () => {
  test("loads back as exactly the defaults", () => {
    expect(parseConfigText(FULL_TEMPLATE, "nexus.toml")).toEqual(defaultConfig())
  })

  test("documents every key of every table", () => {
    for (const [table, keys] of Object.entries(TABLE_KEYS)) {
      if (table === "") continue
      const header = table === "backends" || table === "backends.models" || table === "routing.policies" ? `[[${table}]]` : table === "pricing" ? "[pricing." : `[${table}]`
      expect(FULL_TEMPLATE).toContain(header)
      for (const key of keys) {
        if (TABLE_KEYS[`${table}.${key}`] || (table === "routing" && ["aliases", "fallbacks"].includes(key))) continue // own header
        expect(FULL_TEMPLATE).toMatch(new RegExp(`^(# )?${key} = `, "m"))
      }
    }
  })

  test("its examples are valid once uncommented", () => {
    const c = parseConfigText(uncomment(FULL_TEMPLATE), "uncommented.toml")
    expect(c.server.admin_token).toBeString()
    expect(c.backends.map((b) => [b.name, b.type, b.zone])).toEqual([
      ["local-ollama", "ollama", "restricted"],
      ["gpu-server", "vllm", "restricted"],
      ["openai", "openai", "open"],
      ["claude", "anthropic", "open"],
      ["gemini", "google", "open"],
    ])
    expect(c.backends[3]!.url).toBe("https://api.anthropic.com")
    expect(c.backends[2]!.allow_models).toEqual(["gpt-4o-mini", "gpt-4o"])
    expect(c.routing.policies).toEqual([{ model_pattern: "private-*", privacy: "restricted", min_tier: 3 }])
    expect(c.routing.budget).toEqual({ monthly_limit_usd: 50, soft_limit_percent: 75, hard_limit_action: "block_cloud", on_ledger_error: "closed" })
    expect(c.pricing["my-proxy-model*"]).toEqual({ input_per_million: 0.5, output_per_million: 1.5 })
    expect(c.backends[0]!.models).toEqual([
      { name: "llama3.2:latest", context_length: 131072, vision: false, tools: true, json_mode: true, embeddings: false },
    ])
    expect(c.backends[2]!.api_key_env).toBe("OPENAI_API_KEY")
    expect(Object.keys(c.routing.aliases)).toHaveLength(5)
    expect(c.routing.fallbacks["llama3.1:70b"]).toEqual(["llama3.1:8b", "llama3.2:latest"])
  })

  test("keys come from the environment, never the file", () => {
    expect(FULL_TEMPLATE).toContain('api_key_env = "OPENAI_API_KEY"')
    expect(FULL_TEMPLATE).not.toMatch(/sk-[A-Za-z0-9]/)
  })
})

describe("minimal template", () => {
  test("loads back as the defaults and is short", () => {
    expect(parseConfigText(MINIMAL_TEMPLATE, "nexus.toml")).toEqual(defaultConfig())
    expect(MINIMAL_TEMPLATE).toContain("minimal")
    expect(MINIMAL_TEMPLATE.split("\n").length).toBeLessThan(20)
  })

  test("its backend example is valid once uncommented", () => {
    const c = parseConfigText(uncomment(MINIMAL_TEMPLATE), "uncommented.toml")
    expect(c.backends.map((b) => [b.name, b.type, b.priority])).toEqual([["gpu-server", "vllm", 1]])
  })
})
