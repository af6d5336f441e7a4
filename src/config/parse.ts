/**
 * From TOML text (or an already parsed object) to a validated `NexusConfig`, turning
 * every schema issue and cross-key check into one human line: where, what, what is
 * allowed, and what the file had. No file system access here (see load.ts).
 * @module
 */
// The string parser alone: the package index also loads its stream parser and node:stream
// (about 4 MB of resident memory for an API we never call).
import parseToml from "@iarna/toml/parse-string.js"
import * as v from "valibot"
import { crossChecks } from "./checks.ts"
import {
  closest,
  ConfigError,
  describeValue,
  fileErrors,
  formatPath,
  syntaxError,
  tableOf,
  type PathItem,
  type Problem,
  type TomlSyntaxError,
} from "./errors.ts"
import { indexLines, lineOf, type LineIndex } from "./locate.ts"
import { ConfigSchema, REQUIRED_KEYS, RETIRED_KEYS, TABLE_KEYS } from "./schema.ts"
import type { NexusConfig } from "./types.ts"

/** Values never repeated back in messages: they end up in logs and terminals. */
const SECRET_KEYS = new Set(["server.admin_token"])

/** The configuration with no file, no environment and no flags (a fresh object each call). */
export function defaultConfig(): NexusConfig {
  return v.parse(ConfigSchema, {})
}

function valueAt(raw: unknown, path: readonly PathItem[]): unknown {
  let current = raw
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined
    current = (current as Record<PathItem, unknown>)[key]
  }
  return current
}

function hasKey(raw: unknown, path: readonly PathItem[]): boolean {
  const parent = valueAt(raw, path.slice(0, -1))
  return typeof parent === "object" && parent !== null && Object.hasOwn(parent, path.at(-1)!)
}

/** "in [routing.weights]", "in backends[1]", "at the top level". */
function where(table: readonly PathItem[]): string {
  if (table.length === 0) return "at the top level"
  return typeof table.at(-1) === "number" ? `in ${formatPath(table)}` : `in [${formatPath(table)}]`
}

function unknownKey(key: string, table: readonly PathItem[]): string {
  const name = tableOf(table)
  const retired = RETIRED_KEYS[name ? `${name}.${key}` : key]
  const valid = TABLE_KEYS[name] ?? []
  const near = closest(key, valid)
  const hint = retired ?? (near ? `did you mean \`${near}\`?` : `valid keys: ${valid.join(", ")}`)
  return `unknown key \`${key}\` ${where(table)}; ${hint}`
}

type Issue = v.InferIssue<typeof ConfigSchema>

/** The message for one schema issue, and the path whose line it should point at. */
function describeIssue(
  issue: Issue,
  path: PathItem[],
  raw: unknown
): { text: string; at: PathItem[] } {
  const key = path.at(-1)
  const parent = path.slice(0, -1)
  if (issue.type === "strict_object" && typeof key === "string") {
    if (issue.expected === "never") return { text: unknownKey(key, parent), at: path }
    if (!hasKey(raw, path)) {
      const hint = REQUIRED_KEYS[tableOf(path)]
      const what = hint ? ` (${hint})` : ""
      const text = `${formatPath(parent)}: missing required key \`${key}\`${what}`
      return { text, at: parent }
    }
  }
  const shown = formatPath(path) || "(top level)"
  // A key of a record (a variable name in [server.runtime_api_keys]) is already in the path.
  const aboutKey = issue.path?.at(-1)?.origin === "key"
  const secret = SECRET_KEYS.has(tableOf(path))
  const got = secret || aboutKey ? "" : `, got ${describeValue(valueAt(raw, path))}`
  return { text: `${shown}: ${issue.message}${got}`, at: path }
}

/**
 * Validate parsed TOML (or any object) against the schema and the cross-key checks.
 * Throws one ConfigError listing every problem; `source` (the TOML text) adds line numbers.
 */
export function validateConfig(raw: unknown, file: string, source?: string): NexusConfig {
  const result = v.safeParse(ConfigSchema, raw)
  const index: LineIndex = source === undefined ? new Map() : indexLines(source)
  const problems: Problem[] = []
  // Several steps of one pipe can fail on the same value; the first says it all.
  const seen = new Set<string>()
  for (const issue of result.issues ?? []) {
    const path = (issue.path ?? []).map((p) => p.key as PathItem)
    const id = formatPath(path)
    if (seen.has(id)) continue
    seen.add(id)
    const { text, at } = describeIssue(issue, path, raw)
    problems.push({ line: lineOf(index, at), text })
  }
  for (const check of crossChecks(raw)) {
    const text = `${formatPath(check.path)}: ${check.message}`
    problems.push({ line: lineOf(index, check.at ?? check.path), text })
  }
  if (problems.length > 0 || !result.success) throw fileErrors(file, problems)
  return result.output
}

/** Parse and validate TOML text; `file` names it in messages. Throws ConfigError. */
export function parseConfigText(text: string, file: string): NexusConfig {
  const source = text.replace(/^\uFEFF/, "")
  let raw: unknown
  try {
    raw = parseToml(source)
  } catch (err) {
    if (err instanceof Error && "line" in err) {
      throw syntaxError(file, source, err as TomlSyntaxError)
    }
    const why = err instanceof Error ? err.message : String(err)
    throw new ConfigError(`${file}: cannot parse as TOML: ${why}`)
  }
  return validateConfig(raw, file, source)
}
