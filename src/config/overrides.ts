/**
 * The two layers above the file: environment variables, then `nexus serve` flags.
 * Each value is checked on its own and a bad one names the variable or flag it came
 * from, never the config key the user did not write.
 * @module
 */
import { BIND_HOST_EXPECTED, isBindHost } from "./addresses.ts"
import { LOG_FORMATS, LOG_LEVELS, type NexusConfig } from "./types.ts"

/** `nexus serve` flags that override the environment and the file. */
export interface ServeFlags {
  config?: string
  port?: number | string
  host?: string
  logLevel?: string
  logFormat?: string
  discovery?: boolean
  healthCheck?: boolean
}

/** The settings a layer can override. */
type Setting =
  | "port"
  | "host"
  | "logLevel"
  | "logFormat"
  | "discovery"
  | "healthCheck"
  | "adminToken"
type Raw = string | number | boolean

/** A parsed value, or what was expected instead. */
type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string }

const TRUE = ["true", "1", "yes", "on"]
const FALSE = ["false", "0", "no", "off"]

function port(raw: Raw): Parsed<number> {
  // Number("0x1F") and Number("1e3") are numbers too; a port is plain digits.
  const digits = typeof raw === "string" && /^\s*\d+\s*$/.test(raw)
  const n = typeof raw === "number" ? raw : digits ? Number(raw) : Number.NaN
  return Number.isInteger(n) && n >= 1 && n <= 65535
    ? { ok: true, value: n }
    : { ok: false, expected: "expected an integer between 1 and 65535" }
}

function host(raw: Raw): Parsed<string> {
  const s = String(raw).trim()
  return isBindHost(s) ? { ok: true, value: s } : { ok: false, expected: BIND_HOST_EXPECTED }
}

function bool(raw: Raw): Parsed<boolean> {
  if (typeof raw === "boolean") return { ok: true, value: raw }
  const s = String(raw).trim().toLowerCase()
  if (TRUE.includes(s)) return { ok: true, value: true }
  if (FALSE.includes(s)) return { ok: true, value: false }
  return { ok: false, expected: "expected true or false (also 1/0, yes/no, on/off)" }
}

function oneOf<const T extends readonly string[]>(values: T): (raw: Raw) => Parsed<T[number]> {
  return (raw) => {
    const s = String(raw).trim().toLowerCase()
    return (values as readonly string[]).includes(s)
      ? { ok: true, value: s as T[number] }
      : { ok: false, expected: `expected one of: ${values.join(", ")}` }
  }
}

function token(raw: Raw): Parsed<string> {
  const s = String(raw).trim()
  return s.length >= 8
    ? { ok: true, value: s }
    : { ok: false, expected: "expected a token of at least 8 characters" }
}

/** How each setting is parsed and where it goes in the configuration. */
const SETTINGS: { [K in Setting]: (c: NexusConfig, raw: Raw) => string | undefined } = {
  port: (c, raw) => apply(port(raw), (v) => (c.server.port = v)),
  host: (c, raw) => apply(host(raw), (v) => (c.server.host = v)),
  logLevel: (c, raw) => apply(oneOf(LOG_LEVELS)(raw), (v) => (c.logging.level = v)),
  logFormat: (c, raw) => apply(oneOf(LOG_FORMATS)(raw), (v) => (c.logging.format = v)),
  discovery: (c, raw) => apply(bool(raw), (v) => (c.discovery.enabled = v)),
  healthCheck: (c, raw) => apply(bool(raw), (v) => (c.health_check.enabled = v)),
  adminToken: (c, raw) => apply(token(raw), (v) => (c.server.admin_token = v)),
}

function apply<T>(parsed: Parsed<T>, set: (value: T) => void): string | undefined {
  if (!parsed.ok) return parsed.expected
  set(parsed.value)
  return undefined
}

/** Environment variables, by the setting they override. */
export const ENV_VARS: Readonly<Record<Setting, string>> = {
  port: "NEXUS_PORT",
  host: "NEXUS_HOST",
  logLevel: "NEXUS_LOG_LEVEL",
  logFormat: "NEXUS_LOG_FORMAT",
  discovery: "NEXUS_DISCOVERY",
  healthCheck: "NEXUS_HEALTH_CHECK",
  adminToken: "NEXUS_ADMIN_TOKEN",
}

/** The admin token has no flag: flags show up in `ps` for every user of the machine. */
type FlagSetting = Exclude<Setting, "adminToken">

const FLAGS: Readonly<Record<FlagSetting, string>> = {
  port: "--port",
  host: "--host",
  logLevel: "--log-level",
  logFormat: "--log-format",
  discovery: "--discovery",
  healthCheck: "--health-check",
}

/** Never echoed back: a secret in an error message ends up in logs. */
const SECRET: ReadonlySet<Setting> = new Set(["adminToken"])

function problem(setting: Setting, name: string, raw: Raw, expected: string): string {
  const shown = SECRET.has(setting) ? "" : `=${JSON.stringify(raw)}`
  return `${name}${shown}: ${expected}`
}

/**
 * Apply the NEXUS_* variables to `config` in place. An empty variable counts as unset,
 * so `NEXUS_PORT= nexus serve` falls back to the file. Returns one line per bad value.
 */
export function applyEnv(
  config: NexusConfig,
  env: Readonly<Record<string, string | undefined>>
): string[] {
  const problems: string[] = []
  for (const [setting, name] of Object.entries(ENV_VARS) as [Setting, string][]) {
    const raw = env[name]
    if (raw === undefined || raw.trim() === "") continue
    const expected = SETTINGS[setting](config, raw)
    if (expected) problems.push(problem(setting, name, raw, expected))
  }
  return problems
}

/** Apply `nexus serve` flags to `config` in place. Returns one line per bad value. */
export function applyFlags(config: NexusConfig, flags: ServeFlags): string[] {
  const problems: string[] = []
  for (const [setting, name] of Object.entries(FLAGS) as [FlagSetting, string][]) {
    const raw = flags[setting]
    if (raw === undefined) continue
    const expected = SETTINGS[setting](config, raw)
    if (expected) problems.push(problem(setting, name, raw, expected))
  }
  return problems
}
