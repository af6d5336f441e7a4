/**
 * Every kind of configuration error, as the person editing the file reads it: the key,
 * its table, the line, what is allowed and what the file had; all problems at once.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
// Providers declare where they run (cloud or not, default URL); configuration reads it.
import "../../src/egress/providers/index.ts"
import { closest, ConfigError, levenshtein } from "../../src/config/errors.ts"
import { indexLines, lineOf } from "../../src/config/locate.ts"
import { parseConfigText } from "../../src/config/load.ts"
import { BACKEND_TYPES, defaultUrl } from "../../src/core/locality.ts"

/** The types are the provider registry's: adding a provider changes these messages, not this file. */
const WITH_DEFAULT_URL = BACKEND_TYPES.filter((t) => defaultUrl(t) !== undefined).join(", ")

function errorOf(text: string, file = "nexus.toml"): ConfigError {
  try {
    parseConfigText(text, file)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error("expected a ConfigError")
}

/** The problem lines of a file's error (without the heading). */
const problems = (text: string) => errorOf(text).problems

describe("unknown keys", () => {
  test("name the key, its table and line, and the closest valid key", () => {
    expect(problems(`[server]\nport = 8000\n\n[health_check]\nintervl_seconds = 5\n`)).toEqual([
      "nexus.toml:5: unknown key `intervl_seconds` in [health_check]; did you mean `interval_seconds`?",
    ])
  })

  test("in the second [[backends]] entry and its [[backends.models]]", () => {
    const text = `[[backends]]
name = "a"
url = "http://a:1"
type = "vllm"
prioirty = 3

[[backends]]
name = "b"
url = "http://b:1"
type = "vllm"
prioirty = 3
[[backends.models]]
name = "m"
[[backends.models]]
name = "n"
vison = true
`
    expect(problems(text)).toEqual([
      "nexus.toml:5: unknown key `prioirty` in backends[0]; did you mean `priority`?",
      "nexus.toml:11: unknown key `prioirty` in backends[1]; did you mean `priority`?",
      "nexus.toml:16: unknown key `vison` in backends[1].models[1]; did you mean `vision`?",
    ])
  })

  test("in a nested table, at the top level, with dotted and quoted keys", () => {
    expect(problems(`[routing.weights]\npriority = 50\nlaod = 30`)).toEqual([
      "nexus.toml:3: unknown key `laod` in [routing.weights]; did you mean `load`?",
    ])
    expect(problems(`# top\nbackend = []`)).toEqual(["nexus.toml:2: unknown key `backend` at the top level; did you mean `backends`?"])
    expect(problems(`server.prot = 1`)).toEqual(["nexus.toml:1: unknown key `prot` in [server]; did you mean `port`?"])
    expect(problems(`[logging]\n"levle" = "info"`)).toEqual(["nexus.toml:2: unknown key `levle` in [logging]; did you mean `level`?"])
    expect(problems(`[server]\nPort = 1`)).toEqual(["nexus.toml:2: unknown key `Port` in [server]; did you mean `port`?"])
  })

  test("a prefix counts as close", () => {
    expect(problems(`[health_check]\ninterval = 5`)[0]).toEndWith("did you mean `interval_seconds`?")
    // And the other way: a valid key with something added.
    expect(problems(`[health_check]\ninterval_seconds_max = 5`)[0]).toEndWith("did you mean `interval_seconds`?")
  })

  test("with nothing close, the valid keys are listed", () => {
    expect(problems(`[logging]\ncolour = true`)).toEqual(["nexus.toml:2: unknown key `colour` in [logging]; valid keys: level, format"])
  })

  test("keys the original had but this one does not say what to do instead", () => {
    expect(problems(`[queue]\nenabled = false`)).toEqual(["nexus.toml:2: unknown key `enabled` in [queue]; set `max_size = 0` to turn the queue off"])
  })
})

describe("wrong types and values", () => {
  test("name the key path, what is allowed and what the file had", () => {
    const text = `[server]
port = "abc"
max_body_bytes = 12.5

[health_check]
enabled = "yes"

[[backends]]
name = "a"
url = "ftp://a"
type = "vllmx"
tier = 9
`
    expect(problems(text)).toEqual([
      'nexus.toml:2: server.port: expected an integer between 1 and 65535, got "abc"',
      "nexus.toml:3: server.max_body_bytes: expected an integer between 1024 and 1073741824, got 12.5",
      'nexus.toml:6: health_check.enabled: expected true or false, got "yes"',
      'nexus.toml:10: backends[0].url: expected an http:// or https:// URL with a host, like http://localhost:11434, got "ftp://a"',
      `nexus.toml:11: backends[0].type: expected one of: ${BACKEND_TYPES.join(", ")}, got "vllmx"`,
      "nexus.toml:12: backends[0].tier: expected an integer between 1 and 5, got 9",
    ])
  })

  test("elements of arrays, tables given as values, and values that are not the right kind", () => {
    const text = `[discovery]
probe_ports = [
  11434,
  0,
]
probe_hosts = ["http://gpu:11434"]
service_types = ["ollama"]
[routing]
fallbacks = { a = "b" }
weights = 5
`
    expect(problems(text)).toEqual([
      "nexus.toml:2: discovery.probe_ports[1]: expected an integer between 1 and 65535, got 0",
      'nexus.toml:6: discovery.probe_hosts[0]: expected a host or host:port, like gpu-box.local or 192.168.1.50:11434 (no http://), got "http://gpu:11434"',
      'nexus.toml:7: discovery.service_types[0]: expected a DNS-SD service type like _llm._tcp, got "ollama"',
      'nexus.toml:9: routing.fallbacks.a: expected an array of model names, got "b"',
      "nexus.toml:10: routing.weights: expected a table ([routing.weights] or { … }), got 5",
    ])
  })

  test("a missing required key points at its table's header", () => {
    expect(problems(`[[backends]]\nname = "a"\ntype = "vllm"\n`)).toEqual([
      `nexus.toml:1: backends[0].url: required: the server's http:// or https:// URL (only ${WITH_DEFAULT_URL} have a default), got nothing`,
    ])
  })

  test("the admin token's value is never repeated", () => {
    const msg = errorOf(`[server]\nadmin_token = "short"`).message
    expect(msg).toContain("nexus.toml:2: server.admin_token: expected a token of at least 8 characters")
    expect(msg).not.toContain("short\"")
  })

  test("an environment variable name, not a key, in api_key_env", () => {
    expect(problems(`[[backends]]\nname = "o"\nurl = "https://api.openai.com"\ntype = "openai"\napi_key_env = "sk-abc123"`)[0]).toContain(
      "backends[0].api_key_env: expected the name of an environment variable, like OPENAI_API_KEY"
    )
  })
})

describe("fleet pins", () => {
  test("an empty days list is an error naming fleet.pins[i].days, not a pin that never holds", () => {
    const text = `[[fleet.pins]]\nmodel = "a"\nbackend = "b"\n\n[[fleet.pins]]\nmodel = "c"\nbackend = "d"\ndays = []\n`
    const [problem, ...rest] = problems(text)
    expect(rest).toEqual([])
    expect(problem).toStartWith("nexus.toml:8: fleet.pins[1].days: expected at least one day (sun, mon")
  })
})

describe("TOML syntax errors", () => {
  test("give line, column and a frame with a caret under the column", () => {
    const err = errorOf(`[server]\nhost = "x"\nport = = 1\n`)
    expect(err.message).toBe(
      [
        "nexus.toml:3:8: TOML syntax error: Unexpected character, expecting string, number, datetime, boolean, inline array or inline table",
        "",
        "  1 | [server]",
        '  2 | host = "x"',
        "> 3 | port = = 1",
        "    |        ^",
      ].join("\n")
    )
    expect(err.exitCode).toBe(2)
  })

  test("on the first line, and under tab-indented text", () => {
    expect(errorOf(`[server`).message).toStartWith("nexus.toml:1:")
    const lines = errorOf(`[server]\n\tport = 1 2`).message.split("\n")
    expect(lines.at(-2)).toBe("> 2 | \tport = 1 2")
    expect(lines.at(-1)).toBe("    | \t         ^")
  })

  test("a key defined twice", () => {
    expect(errorOf(`[server]\nport = 1\nport = 2`).message).toStartWith("nexus.toml:3:")
  })
})

describe("checks across keys", () => {
  test("weights must add up to 100, naming routing.weights and the sum", () => {
    expect(problems(`[routing.weights]\nload = 80`)).toEqual([
      "nexus.toml:1: routing.weights: priority + load + latency must add up to 100, got 50 + 80 + 20 = 150 (a key left out keeps its default)",
    ])
    expect(problems(`[routing]\nweights = { priority = 10, load = 10, latency = 10 }`)[0]).toContain("= 30")
  })

  test("alias cycles are named, once each", () => {
    expect(problems(`[routing.aliases]\n"gpt-4" = "llama"\nllama = "gpt-4"`)).toEqual([
      "nexus.toml:2: routing.aliases: alias cycle gpt-4 -> llama -> gpt-4",
    ])
    expect(problems(`[routing.aliases]\nx = "x"`)).toEqual(["nexus.toml:2: routing.aliases: alias cycle x -> x"])
    expect(problems(`[routing.aliases]\nhead = "a"\na = "b"\nb = "a"`)).toEqual(["nexus.toml:3: routing.aliases: alias cycle a -> b -> a"])
  })

  test("two alias keys for one model (case and :latest aside) name the second", () => {
    expect(problems(`[routing.aliases]\nfast = "small"\n"FAST:latest" = "big"\n"f*" = "x"\nFast-2 = "y"`)).toEqual([
      'nexus.toml:3: routing.aliases: aliases "fast" and "FAST:latest" name the same model (names are blind to case and :latest); keep one',
    ])
  })

  test("alias chains longer than 3 hops", () => {
    expect(problems(`[routing.aliases]\na = "b"\nb = "c"\nc = "d"\nd = "e"`)).toEqual([
      "nexus.toml:2: routing.aliases: alias chain a -> b -> c -> d -> e has 4 hops; at most 3 are followed",
    ])
  })

  test("duplicate backend names name both indexes", () => {
    const text = `[[backends]]\nname = "x"\nurl = "http://a:1"\ntype = "vllm"\n[[backends]]\nname = "x"\nurl = "http://b:1"\ntype = "vllm"`
    expect(problems(text)).toEqual(['nexus.toml:6: backends[1].name: "x" is already used by backends[0]; backend names must be unique'])
  })
})

describe("every problem at once", () => {
  test("in line order under a heading with the file path", () => {
    const err = errorOf(`[routing.aliases]\na = "a"\n[server]\nport = 0\nhots = "x"\n[[backends]]\nname = "b"\ntype = "vllm"`, "/etc/nexus.toml")
    expect(err.message).toBe(
      [
        "Invalid configuration in /etc/nexus.toml (4 problems):",
        "  /etc/nexus.toml:2: routing.aliases: alias cycle a -> a",
        "  /etc/nexus.toml:4: server.port: expected an integer between 1 and 65535, got 0",
        "  /etc/nexus.toml:5: unknown key `hots` in [server]; did you mean `host`?",
        `  /etc/nexus.toml:6: backends[0].url: required: the server's http:// or https:// URL (only ${WITH_DEFAULT_URL} have a default), got nothing`,
      ].join("\n")
    )
    expect(err.problems).toHaveLength(4)
  })
})

describe("locating keys", () => {
  test("multi-line arrays and strings, comments and quoted keys do not confuse the scan", () => {
    const text = `# [fake]
title = """
[not.a.table]
port = 1
"""
[discovery]
probe_hosts = [
  "a", # ] not the end
  ["x"],
]
"service_types" = [] # comment
[[backends]]
name = "a"
[[backends]]
name = 'b'
[[backends.models]]
name = "m"
[routing.aliases]
"gpt-4.1" = "x"
`
    const index = indexLines(text)
    expect(lineOf(index, ["discovery", "probe_hosts", 1])).toBe(7)
    expect(lineOf(index, ["discovery", "service_types"])).toBe(11)
    expect(lineOf(index, ["backends", 1, "name"])).toBe(15)
    expect(lineOf(index, ["backends", 1, "models", 0, "name"])).toBe(17)
    expect(lineOf(index, ["backends", 1, "models", 0, "vision"])).toBe(16)
    expect(lineOf(index, ["routing", "aliases", "gpt-4.1"])).toBe(19)
    expect(lineOf(index, ["not", "a", "table"])).toBeUndefined()
    expect(lineOf(index, ["port"])).toBeUndefined()
  })

  test("closest: typos within 3 edits, prefixes, nothing for unrelated words", () => {
    const keys = ["interval_seconds", "timeout_seconds", "enabled"]
    expect(closest("intervl_seconds", keys)).toBe("interval_seconds")
    expect(closest("timeout", keys)).toBe("timeout_seconds")
    expect(closest("enabeld", keys)).toBe("enabled")
    expect(closest("colour", keys)).toBeUndefined()
    expect(closest("x", keys)).toBeUndefined()
  })

  test("a key three edits away from the one meant is still named, in the file's error", () => {
    expect(problems(`[health_check]\nintrvl_secnds = 5\n`)).toEqual(["nexus.toml:2: unknown key `intrvl_secnds` in [health_check]; did you mean `interval_seconds`?"])
  })

  test("closest: any typo of up to 3 edits on a key of 4 letters or more gets a suggestion that close", () => {
    const keys = ["interval_seconds", "timeout_seconds", "enabled", "priority", "max_concurrent", "api_key_env", "zone"]
    const edit = fc.tuple(fc.constantFrom("insert", "delete", "replace"), fc.nat(), fc.constantFrom(..."qxz_9"))
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.array(edit, { minLength: 1, maxLength: 3 }), (key, edits) => {
        let typo = key
        for (const [kind, at, ch] of edits) {
          const i = at % (typo.length + (kind === "insert" ? 1 : 0))
          typo = kind === "insert" ? typo.slice(0, i) + ch + typo.slice(i) : typo.slice(0, i) + (kind === "replace" ? ch : "") + typo.slice(i + 1)
        }
        fc.pre(typo.length >= 4 && typo !== key)
        const suggestion = closest(typo, keys)
        expect(suggestion).toBeDefined()
        expect(levenshtein(typo, suggestion!)).toBeLessThanOrEqual(levenshtein(typo, key))
      }),
      { numRuns: 400 }
    )
  })
})
