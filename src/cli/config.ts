/**
 * `nexus config init` and `nexus config validate`. Configuration errors are printed as
 * they are (no stack trace) with exit code 2; other failures exit 1.
 * @module
 */
import TOML from "@iarna/toml"
import { defineCommand } from "citty"
import { writeFileSync } from "node:fs"
import { relative, resolve } from "node:path"
// Providers declare where they run (cloud or not, default URL); configuration reads it.
import "../egress/providers/index.ts"
import { ConfigError } from "../config/errors.ts"
import { DEFAULT_CONFIG_FILE, loadConfig } from "../config/load.ts"
import { FULL_TEMPLATE, MINIMAL_TEMPLATE } from "../config/template.ts"
import type { NexusConfig } from "../config/types.ts"

const MASK = "***"

/** Credentials in a URL (`http://user:pass@host`) are masked like the admin token. */
function maskUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, `$1${MASK}@`)
}

/** The effective configuration as plain data to print: no undefined values, secrets masked. */
export function printable(config: NexusConfig): Record<string, unknown> {
  const clean = JSON.parse(JSON.stringify(config)) as NexusConfig
  if (clean.server.admin_token) clean.server.admin_token = MASK
  for (const b of clean.backends) b.url = maskUrl(b.url)
  return clean as unknown as Record<string, unknown>
}

/**
 * The configuration as TOML. @iarna/toml writes `8_000` for 8000; that is valid TOML but
 * not what anyone typed, so digit separators are dropped from values (never from keys
 * or strings).
 */
export function toToml(data: Record<string, unknown>): string {
  const { backends, ...rest } = data
  const hasBackends = Array.isArray(backends) && backends.length > 0
  const text = TOML.stringify((hasBackends ? data : rest) as TOML.JsonMap)
  const plain = text.replace(KEY_VALUE, (_, key: string, value: string) => {
    return key + plainNumbers(value)
  })
  if (hasBackends) return plain
  const discovery = (data.discovery as { enabled?: boolean } | undefined)?.enabled
  const why = discovery
    ? "Discovery finds servers by itself."
    : "Discovery is off: nothing to route to."
  return `${plain}\n# No [[backends]] configured. ${why}\n`
}

/** `key = value` lines, the key (bare or quoted) and the separator in group 1. */
const KEY_VALUE = /^(\s*(?:"(?:[^"\\]|\\.)*"|[^\s="]+)\s*=\s*)(.*)$/gm
const STRING_OR_OTHER = /"(?:[^"\\]|\\.)*"|[^"]+/g

function plainNumbers(value: string): string {
  return value.replace(STRING_OR_OTHER, (part) =>
    part.startsWith('"') ? part : part.replace(/(\d)_(?=\d)/g, "$1")
  )
}

/** Write the template to `output`; returns the exit code. */
function writeTemplate(output: string | undefined, force: boolean, minimal: boolean): number {
  const path = resolve(output || DEFAULT_CONFIG_FILE)
  try {
    // "wx" refuses an existing file atomically: no window between a check and the write.
    const template = minimal ? MINIMAL_TEMPLATE : FULL_TEMPLATE
    writeFileSync(path, template, { flag: force ? "w" : "wx" })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why =
      code === "EEXIST"
        ? `${path} already exists; not overwriting it. ` +
          "Use --force to replace it, or --output to write elsewhere."
        : code === "ENOENT"
          ? `Cannot write ${path}: its directory does not exist.`
          : code === "EISDIR"
            ? `Cannot write ${path}: it is a directory.`
            : `Cannot write ${path}: ${(err as Error).message}`
    process.stderr.write(`${why}\n`)
    return 1
  }
  // The default file needs no --config; any other one does.
  const option = relative(process.cwd(), path) === DEFAULT_CONFIG_FILE ? "" : ` --config ${path}`
  process.stdout.write(
    `Wrote ${minimal ? "a minimal" : "a fully documented"} configuration to ${path}\n` +
      `Next: edit it if you like, check it with \`nexus config validate${option}\`, ` +
      `then run \`nexus serve${option}\`\n`
  )
  return 0
}

/** Load, validate and print the effective configuration; returns the exit code. */
async function validateFile(file: string | undefined, json: boolean): Promise<number> {
  try {
    const { config, path, notes } = await loadConfig({ flags: { config: file } })
    const data = printable(config)
    if (json) {
      process.stdout.write(`${JSON.stringify({ valid: true, path, notes, config: data }, null, 2)}\n`)
      return 0
    }
    const what = path
      ? `${path} is valid`
      : `no ${DEFAULT_CONFIG_FILE} in ${process.cwd()}: the built-in defaults apply`
    process.stdout.write(`✓ ${what}\n`)
    for (const note of notes) process.stdout.write(`  note: ${note}\n`)
    process.stdout.write("\n")
    process.stdout.write(`# Effective configuration (file + NEXUS_* environment)\n${toToml(data)}`)
    return 0
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    if (json) {
      process.stdout.write(`${JSON.stringify({ valid: false, problems: err.problems }, null, 2)}\n`)
    }
    process.stderr.write(`${err.message}\n`)
    return err.exitCode
  }
}

const init = defineCommand({
  meta: {
    name: "init",
    description: [
      "Write a commented nexus.toml that documents every key, its default and what is allowed.",
      "",
      "Examples:",
      "  nexus config init",
      "  nexus config init --minimal",
      "  nexus config init --output /etc/nexus/nexus.toml --force",
    ].join("\n"),
  },
  args: {
    output: {
      type: "string",
      alias: "o",
      valueHint: "file",
      description: `File to write (default ${DEFAULT_CONFIG_FILE})`,
    },
    force: { type: "boolean", alias: "f", description: "Overwrite the file if it exists" },
    minimal: { type: "boolean", description: "Write a short file: server and one backend example" },
  },
  run({ args }) {
    process.exitCode = writeTemplate(args.output, args.force === true, args.minimal === true)
  },
})

const validate = defineCommand({
  meta: {
    name: "validate",
    description: [
      "Check a config file and print the effective configuration (file + NEXUS_* environment).",
      "Exit code 0 when valid, 2 when not (every problem is listed with its line).",
      "",
      "Examples:",
      "  nexus config validate",
      "  nexus config validate --config /etc/nexus/nexus.toml",
      "  NEXUS_PORT=9000 nexus config validate --json",
    ].join("\n"),
  },
  args: {
    file: { type: "positional", required: false, description: "File to check (same as --config)" },
    config: {
      type: "string",
      alias: "c",
      valueHint: "file",
      description: `File to check (default $NEXUS_CONFIG, else ${DEFAULT_CONFIG_FILE})`,
    },
    json: { type: "boolean", description: "Print the result as JSON" },
  },
  async run({ args }) {
    if (args.file && args.config && resolve(args.file) !== resolve(args.config)) {
      const both = `${args.file} and --config ${args.config}`
      process.stderr.write(`Two files given (${both}); pass one.\n`)
      process.exitCode = 1
      return
    }
    process.exitCode = await validateFile(args.config ?? args.file, args.json === true)
  },
})

/** `nexus config`: create and check configuration files. */
export const configCommand = defineCommand({
  meta: {
    name: "config",
    description: [
      "Create and check configuration files.",
      "",
      "Examples:",
      "  nexus config init",
      "  nexus config validate --config nexus.toml",
    ].join("\n"),
  },
  subCommands: { init, validate },
})
