/**
 * `nexus config init` and `nexus config validate`.
 * @module
 */
import TOML from "@iarna/toml"
import { defineCommand } from "citty"
import { existsSync, writeFileSync } from "node:fs"
import { resolve } from "node:path"
import { ConfigError } from "../config/errors.ts"
import { DEFAULT_CONFIG_FILE, loadConfig } from "../config/load.ts"
import { FULL_TEMPLATE, MINIMAL_TEMPLATE } from "../config/template.ts"
import type { NexusConfig } from "../config/types.ts"

/** The effective config as printable data: no undefined, secrets masked. */
export function printable(config: NexusConfig): Record<string, unknown> {
  const clean = JSON.parse(JSON.stringify(config)) as Record<string, Record<string, unknown>>
  if (clean.server?.admin_token) clean.server.admin_token = "***"
  return clean
}

const init = defineCommand({
  meta: {
    name: "init",
    description:
      "Write a commented nexus.toml documenting every key.\n\nExamples:\n  nexus config init\n  nexus config init --output /etc/nexus/nexus.toml\n  nexus config init --minimal --force",
  },
  args: {
    output: { type: "string", alias: "o", description: `File to write (default ${DEFAULT_CONFIG_FILE})` },
    force: { type: "boolean", alias: "f", description: "Overwrite an existing file" },
    minimal: { type: "boolean", description: "Write a short file instead of the fully documented one" },
  },
  run({ args }) {
    const path = resolve(args.output || DEFAULT_CONFIG_FILE)
    if (existsSync(path) && !args.force) {
      process.stderr.write(`${path} already exists; not overwriting it (use --force to replace it).\n`)
      process.exit(1)
    }
    try {
      writeFileSync(path, args.minimal ? MINIMAL_TEMPLATE : FULL_TEMPLATE)
    } catch (err) {
      process.stderr.write(`Cannot write ${path}: ${(err as Error).message}\n`)
      process.exit(1)
    }
    process.stdout.write(`Wrote ${path}\nNext: edit it if you like, then run: nexus serve --config ${path}\n`)
  },
})

const validate = defineCommand({
  meta: {
    name: "validate",
    description:
      "Check a config file and print the effective configuration (file + environment).\n\nExamples:\n  nexus config validate\n  nexus config validate --config /etc/nexus/nexus.toml --json",
  },
  args: {
    config: { type: "string", alias: "c", description: `File to check (default ${DEFAULT_CONFIG_FILE}, or $NEXUS_CONFIG)` },
    json: { type: "boolean", description: "Print the effective configuration as JSON" },
  },
  async run({ args }) {
    try {
      const { config, path } = await loadConfig({ flags: { config: args.config } })
      const data = printable(config)
      if (args.json) {
        process.stdout.write(`${JSON.stringify({ valid: true, path, config: data }, null, 2)}\n`)
        return
      }
      process.stdout.write(`✓ ${path ?? "no config file: built-in defaults"} is valid\n\n# Effective configuration\n`)
      process.stdout.write(TOML.stringify(data as TOML.JsonMap))
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`)
        process.exit(err.exitCode)
      }
      throw err
    }
  },
})

export const configCommand = defineCommand({
  meta: { name: "config", description: "Create and check configuration files" },
  subCommands: { init, validate },
})
