/**
 * The two layers above the file: environment variables, then `nexus serve` flags.
 * Each value is checked on its own, by the schema's rule for its key, and a bad one names
 * the variable or flag it came from, never the config key the user did not write.
 * @module
 */
import type * as v from "valibot"
import { FIELDS } from "./schema.ts"
import type { NexusConfig } from "./types.ts"
import { BOOLEAN_WORDS, booleanFrom, check, numberFrom, problem } from "./values.ts"
import { ENV_VARS, type Setting } from "./env-names.ts"

export { ENV_VARS, type Setting }

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

type Raw = string | number | boolean

/**
 * One setting: read from text, checked by the schema's rule for its key, then written to
 * the configuration. Returns what was expected when the value is refused.
 */
function setting<S extends v.GenericSchema>(
  schema: S,
  read: (raw: Raw) => unknown,
  set: (c: NexusConfig, value: v.InferOutput<S>) => void,
  hint?: string
) {
  return (c: NexusConfig, raw: Raw): string | undefined => {
    const checked = check(schema, read(raw))
    if (!checked.ok) return hint ? `${checked.expected} (${hint})` : checked.expected
    set(c, checked.value)
    return undefined
  }
}

const asIs = (raw: Raw) => raw

/** How each setting is read and where it goes in the configuration. */
const SETTINGS: { [K in Setting]: (c: NexusConfig, raw: Raw) => string | undefined } = {
  port: setting(FIELDS.port, numberFrom, (c, val) => (c.server.port = val)),
  host: setting(FIELDS.host, asIs, (c, val) => (c.server.host = val)),
  logLevel: setting(FIELDS.log_level, asIs, (c, val) => (c.logging.level = val)),
  logFormat: setting(FIELDS.log_format, asIs, (c, val) => (c.logging.format = val)),
  discovery: setting(FIELDS.enabled, booleanFrom, (c, val) => (c.discovery.enabled = val), BOOLEAN_WORDS),
  healthCheck: setting(FIELDS.enabled, booleanFrom, (c, val) => (c.health_check.enabled = val), BOOLEAN_WORDS),
  adminToken: setting(FIELDS.admin_token, asIs, (c, val) => (c.server.admin_token = val)),
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

/**
 * Apply the NEXUS_* variables to `config` in place (those of `only`, when given: a
 * command that uses a few settings is not stopped by a bad one it ignores). An empty
 * variable counts as unset, so `NEXUS_PORT= nexus serve` falls back to the file.
 * Returns one line per bad value.
 */
export function applyEnv(
  config: NexusConfig,
  env: Readonly<Record<string, string | undefined>>,
  only?: readonly Setting[]
): string[] {
  const problems: string[] = []
  for (const [setting, name] of Object.entries(ENV_VARS) as [Setting, string][]) {
    if (only && !only.includes(setting)) continue
    const raw = env[name]
    if (raw === undefined || raw.trim() === "") continue
    const expected = SETTINGS[setting](config, raw)
    if (expected) problems.push(problem(name, raw, expected, SECRET.has(setting)))
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
    if (expected) problems.push(problem(name, raw, expected, SECRET.has(setting)))
  }
  return problems
}
