/**
 * Loading the configuration: TOML file, then environment, then command-line flags,
 * validated by one strict schema. Every problem becomes a ConfigError written for
 * a human (see errors.ts).
 * @module
 */
import TOML from "@iarna/toml"
import { existsSync, readFileSync } from "node:fs"
import { resolve } from "node:path"
import * as v from "valibot"
import { resolveAliasCycle } from "./aliases-check.ts"
import { closest, ConfigError, formatPath, locateKey, syntaxError, tableOf, type PathItem } from "./errors.ts"
import { ConfigSchema, TABLE_KEYS } from "./schema.ts"
import { LOG_FORMATS, LOG_LEVELS, type NexusConfig } from "./types.ts"

/** `nexus serve` flags that override the file and the environment. */
export interface ServeFlags {
  config?: string
  port?: number | string
  host?: string
  logLevel?: string
  logFormat?: string
  discovery?: boolean
  healthCheck?: boolean
}

export interface LoadOptions {
  /** Explicit config path (takes precedence over flags.config and NEXUS_CONFIG). */
  path?: string
  flags?: ServeFlags
  env?: Record<string, string | undefined>
  cwd?: string
}

export interface LoadedConfig {
  config: NexusConfig
  /** The file that was read, or null when running on defaults. */
  path: string | null
}

export const DEFAULT_CONFIG_FILE = "nexus.toml"

/** The configuration with no file, no environment and no flags. */
export function defaultConfig(): NexusConfig {
  return v.parse(ConfigSchema, {})
}

/** Unknown keys, reported with the table, the line and the closest valid key. */
function unknownKeys(raw: unknown, path: PathItem[], file: string, source: string, out: string[]): void {
  if (typeof raw !== "object" || raw === null) return
  if (Array.isArray(raw)) {
    raw.forEach((item, i) => unknownKeys(item, [...path, i], file, source, out))
    return
  }
  const table = tableOf(path)
  const valid = TABLE_KEYS[table]
  if (!valid) return // free-form tables: aliases, fallbacks
  for (const [key, value] of Object.entries(raw)) {
    if (!valid.includes(key)) {
      const line = locateKey(source, path, key)
      const where = table ? `in [${formatPath(path)}]` : "at the top level"
      const near = closest(key, valid)
      const hint = near ? `did you mean \`${near}\`?` : `valid keys: ${valid.join(", ")}`
      out.push(`${file}${line ? `:${line}` : ""}: unknown key \`${key}\` ${where}; ${hint}`)
      // Reported here; drop it so the schema can still report every other problem.
      delete (raw as Record<string, unknown>)[key]
      continue
    }
    unknownKeys(value, [...path, key], file, source, out)
  }
}

/** Validate parsed TOML (or any object) against the schema; throws a ConfigError listing every problem. */
export function validateConfig(raw: unknown, file: string, source = ""): NexusConfig {
  const problems: string[] = []
  unknownKeys(raw, [], file, source, problems)
  const result = v.safeParse(ConfigSchema, raw)
  if (!result.success || problems.length) {
    for (const issue of result.issues ?? []) {
      const path = (issue.path ?? []).map((p) => p.key as PathItem)
      const key = typeof path.at(-1) === "string" ? (path.at(-1) as string) : undefined
      const line = source ? locateKey(source, key ? path.slice(0, -1) : path, key) : undefined
      const got = issue.kind === "schema" && issue.received ? ` (got ${issue.received})` : ""
      const message = issue.message.includes("got ") ? issue.message : `${issue.message}${got}`
      problems.push(`${file}${line ? `:${line}` : ""}: ${formatPath(path) || "(top level)"}: ${message}`)
    }
    throw new ConfigError(`Invalid configuration in ${file}:\n  ${[...new Set(problems)].join("\n  ")}`)
  }
  const config = result.output as NexusConfig
  const names = new Map<string, number>()
  config.backends.forEach((b, i) => {
    const before = names.get(b.name)
    if (before !== undefined) problems.push(`${file}: backends[${i}].name: "${b.name}" is already used by backends[${before}]; names must be unique`)
    else names.set(b.name, i)
  })
  const cycle = resolveAliasCycle(config.routing.aliases)
  if (cycle) problems.push(`${file}: routing.aliases: ${cycle}`)
  if (problems.length) throw new ConfigError(`Invalid configuration in ${file}:\n  ${problems.join("\n  ")}`)
  return config
}

/** Parse and validate TOML text. */
export function parseConfigText(text: string, file: string): NexusConfig {
  let raw: unknown
  try {
    raw = TOML.parse(text)
  } catch (err) {
    throw syntaxError(file, text, err as { line?: number; col?: number; message: string })
  }
  return validateConfig(raw, file, text)
}

const TRUE = ["true", "1", "yes", "on"]
const FALSE = ["false", "0", "no", "off"]

function envBool(name: string, value: string): boolean {
  const v = value.trim().toLowerCase()
  if (TRUE.includes(v)) return true
  if (FALSE.includes(v)) return false
  throw new ConfigError(`${name}=${JSON.stringify(value)}: expected true or false (also 1/0, yes/no, on/off)`)
}

function portOf(source: string, value: number | string): number {
  const n = typeof value === "number" ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new ConfigError(`${source}=${JSON.stringify(value)}: expected an integer between 1 and 65535`)
  }
  return n
}

function oneOfOrThrow<T extends readonly string[]>(source: string, value: string, allowed: T): T[number] {
  const v = value.trim().toLowerCase()
  if (!(allowed as readonly string[]).includes(v)) {
    throw new ConfigError(`${source}=${JSON.stringify(value)}: expected one of: ${allowed.join(", ")}`)
  }
  return v as T[number]
}

/** Apply one layer of overrides (env or flags), naming the variable or flag on error. */
function override(
  config: NexusConfig,
  layer: { port?: number | string; host?: string; level?: string; format?: string; discovery?: boolean | string; health?: boolean | string },
  names: Record<"port" | "host" | "level" | "format" | "discovery" | "health", string>
): void {
  if (layer.port !== undefined && layer.port !== "") config.server.port = portOf(names.port, layer.port)
  if (layer.host !== undefined && layer.host !== "") {
    if (!layer.host.trim()) throw new ConfigError(`${names.host}: expected a host name or address`)
    config.server.host = layer.host.trim()
  }
  if (layer.level !== undefined && layer.level !== "") config.logging.level = oneOfOrThrow(names.level, layer.level, LOG_LEVELS)
  if (layer.format !== undefined && layer.format !== "") config.logging.format = oneOfOrThrow(names.format, layer.format, LOG_FORMATS)
  if (layer.discovery !== undefined && layer.discovery !== "") {
    config.discovery.enabled = typeof layer.discovery === "boolean" ? layer.discovery : envBool(names.discovery, layer.discovery)
  }
  if (layer.health !== undefined && layer.health !== "") {
    config.health_check.enabled = typeof layer.health === "boolean" ? layer.health : envBool(names.health, layer.health)
  }
}

/**
 * Load the effective configuration: flags > env > file > defaults. A missing default
 * `nexus.toml` means zero-config; a missing file named explicitly is an error.
 */
export async function loadConfig(opts: LoadOptions = {}): Promise<LoadedConfig> {
  const env = opts.env ?? process.env
  const flags = opts.flags ?? {}
  const cwd = opts.cwd ?? process.cwd()
  const named = opts.path ?? flags.config ?? env.NEXUS_CONFIG
  const path = resolve(cwd, named || DEFAULT_CONFIG_FILE)

  let config: NexusConfig
  let used: string | null = null
  if (existsSync(path)) {
    let text: string
    try {
      text = readFileSync(path, "utf8")
    } catch (err) {
      throw new ConfigError(`Cannot read config file ${path}: ${(err as Error).message}`)
    }
    config = parseConfigText(text, path)
    used = path
  } else if (named) {
    const via = opts.path || flags.config ? "--config" : "NEXUS_CONFIG"
    throw new ConfigError(`Config file not found: ${path} (given by ${via}). Create one with \`nexus config init\`.`)
  } else {
    config = defaultConfig()
  }

  override(
    config,
    { port: env.NEXUS_PORT, host: env.NEXUS_HOST, level: env.NEXUS_LOG_LEVEL, format: env.NEXUS_LOG_FORMAT, discovery: env.NEXUS_DISCOVERY, health: env.NEXUS_HEALTH_CHECK },
    { port: "NEXUS_PORT", host: "NEXUS_HOST", level: "NEXUS_LOG_LEVEL", format: "NEXUS_LOG_FORMAT", discovery: "NEXUS_DISCOVERY", health: "NEXUS_HEALTH_CHECK" }
  )
  override(
    config,
    { port: flags.port, host: flags.host, level: flags.logLevel, format: flags.logFormat, discovery: flags.discovery, health: flags.healthCheck },
    { port: "--port", host: "--host", level: "--log-level", format: "--log-format", discovery: "--discovery", health: "--health-check" }
  )
  const token = env.NEXUS_ADMIN_TOKEN
  if (token) config.server.admin_token = token
  return { config, path: used }
}
