/**
 * Loading the effective configuration: command-line flags > environment > TOML file >
 * defaults. Every problem becomes a ConfigError written for a human (see errors.ts).
 * @module
 */
import { readFile } from "node:fs/promises"
import { homedir } from "node:os"
import { resolve } from "node:path"
import { ConfigError } from "./errors.ts"
import { applyEnv, applyFlags, type ServeFlags } from "./overrides.ts"
import { defaultConfig, parseConfigText } from "./parse.ts"
import type { NexusConfig } from "./types.ts"
import parseToml from "@iarna/toml/parse-string.js"
import { configNotes } from "./notes.ts"

export type { ServeFlags } from "./overrides.ts"
export { defaultConfig, parseConfigText, validateConfig } from "./parse.ts"

/** The file read when neither `--config` nor NEXUS_CONFIG names one; it may be absent. */
export const DEFAULT_CONFIG_FILE = "nexus.toml"

type Env = Readonly<Record<string, string | undefined>>

export interface LoadOptions {
  /** Config file to read; wins over `flags.config` and NEXUS_CONFIG. */
  path?: string
  flags?: ServeFlags
  /** Environment to read NEXUS_* from (default `process.env`). */
  env?: Env
  /** Where relative paths and the default file are resolved (default `process.cwd()`). */
  cwd?: string
}

export interface LoadedConfig {
  config: NexusConfig
  /** The absolute path of the file that was read, or null when running on defaults. */
  path: string | null
  /** What the user may want to know about a valid file (a spelling that changed meaning). */
  notes: string[]
}

/** Where the config path came from, for "not found" messages. */
type Origin = "path" | "--config" | "NEXUS_CONFIG"

function chosenPath(opts: LoadOptions, env: Env): { path: string; origin: Origin } | undefined {
  if (opts.path !== undefined) return { path: opts.path, origin: "path" }
  if (opts.flags?.config !== undefined) {
    if (opts.flags.config.trim() === "") {
      throw new ConfigError("--config: expected the path of a TOML file")
    }
    return { path: opts.flags.config, origin: "--config" }
  }
  const fromEnv = env.NEXUS_CONFIG
  return fromEnv?.trim() ? { path: fromEnv, origin: "NEXUS_CONFIG" } : undefined
}

/** `~/x.toml` from a variable is not expanded by any shell. */
function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? homedir() + path.slice(1) : path
}

/** The file's text, or undefined when the default file is simply absent. */
async function readConfigFile(path: string, origin?: Origin): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8")
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === "ENOENT" && origin === undefined) return undefined
    if (code === "ENOENT") {
      const via = origin === "path" ? "" : ` (from ${origin})`
      const hint = `Create one with \`nexus config init --output ${path}\`.`
      throw new ConfigError(`Config file not found: ${path}${via}. ${hint}`)
    }
    const why =
      code === "EISDIR"
        ? "it is a directory"
        : code === "EACCES" || code === "EPERM"
          ? "permission denied"
          : (err as Error).message
    throw new ConfigError(`Cannot read config file ${path}: ${why}`)
  }
}

/**
 * Load the effective configuration. A missing default `nexus.toml` means zero-config
 * (all defaults, no static backends); a missing file named by `path`, `--config` or
 * NEXUS_CONFIG is an error. Throws ConfigError listing every problem of a layer.
 */
export async function loadConfig(opts: LoadOptions = {}): Promise<LoadedConfig> {
  const env = opts.env ?? process.env
  const chosen = chosenPath(opts, env)
  const path = resolve(opts.cwd ?? process.cwd(), expandHome(chosen?.path ?? DEFAULT_CONFIG_FILE))
  const text = await readConfigFile(path, chosen?.origin)
  const config = text === undefined ? defaultConfig() : parseConfigText(text, path)
  const problems = [...applyEnv(config, env), ...applyFlags(config, opts.flags ?? {})]
  if (problems.length === 1) throw new ConfigError(problems[0]!)
  if (problems.length > 1) {
    const heading = "Invalid settings from the environment or command line:"
    throw new ConfigError(`${heading}\n  ${problems.join("\n  ")}`, problems)
  }
  return { config, path: text === undefined ? null : path, notes: text === undefined ? [] : configNotes(parseToml(text.replace(/^\uFEFF/, ""))) }
}
