/**
 * Configuration errors written for the person editing the file: which key, in which
 * table, on which line, what is allowed, and the closest valid key when one is near.
 * Never a stack trace: `nexus` prints the message and exits with code 2.
 * @module
 */

/** A configuration problem a person must fix. `message` is complete and ready to print. */
export class ConfigError extends Error {
  /** The process exit code for a configuration error (1 is for everything else). */
  readonly exitCode = 2
  /** One line per problem, without the heading, for callers that list them (JSON, admin API). */
  readonly problems: readonly string[]

  constructor(message: string, problems: readonly string[] = [message]) {
    super(message)
    this.name = "ConfigError"
    this.problems = problems
  }
}

/** A step in a key path: a key, or an index into an array. */
export type PathItem = string | number

/** `backends[1].type`, `routing.weights`, …: the way paths are written in every message. */
export function formatPath(path: readonly PathItem[]): string {
  let out = ""
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${p}` : p
  return out
}

/** The table a key lives in, without indexes: `backends.models` for `backends[1].models[0]`. */
export function tableOf(path: readonly PathItem[]): string {
  return path.filter((p) => typeof p === "string").join(".")
}

/** How a value from the file is quoted in "got …": short, and in TOML's terms. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing"
  if (typeof value === "string") {
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)
  }
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "nan"
    return Number.isFinite(value) ? String(value) : value > 0 ? "inf" : "-inf"
  }
  if (typeof value === "bigint" || typeof value === "boolean") return String(value)
  if (value instanceof Date) return "a date"
  if (Array.isArray(value)) return "an array"
  if (typeof value === "object" && value !== null) return "a table"
  return String(value)
}

/** Edit distance (insertions, deletions, substitutions) between two strings. */
export function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]!
}

/**
 * The valid key a mistyped one most likely meant: within 3 edits, or one is a prefix of
 * the other (`interval` for `interval_seconds`). Undefined when nothing is that close.
 */
export function closest(key: string, valid: readonly string[]): string | undefined {
  const k = key.toLowerCase()
  let best: string | undefined
  let bestScore = Infinity
  for (const candidate of valid) {
    const c = candidate.toLowerCase()
    // A prefix match ranks like a single typo, so an exact-case slip still wins over it.
    const prefix = k.length >= 3 && (c.startsWith(k) || k.startsWith(c))
    const score = Math.min(levenshtein(k, c), prefix ? 1 : Infinity)
    if (score < bestScore) {
      bestScore = score
      best = candidate
    }
  }
  // Three edits on a two-letter key would match anything.
  return bestScore <= Math.min(3, Math.max(1, k.length - 1)) ? best : undefined
}

/** The position fields of @iarna/toml's TomlError (0-based line and column). */
export interface TomlSyntaxError {
  message: string
  line?: number
  col?: number
}

/** A TOML syntax error: `file:line:col`, the reason, and a small frame with a caret. */
export function syntaxError(file: string, source: string, err: TomlSyntaxError): ConfigError {
  const lines = source.split(/\r?\n/)
  const line = Math.min((err.line ?? 0) + 1, Math.max(lines.length, 1))
  const text = lines[line - 1] ?? ""
  const col = Math.min((err.col ?? 0) + 1, text.length + 1)
  // iarna appends its own position and frame; ours replace them.
  const reason = err.message.split("\n")[0]!.replace(/ at row \d+, col \d+, pos \d+:?$/, "")
  const width = String(line).length
  const frame: string[] = []
  for (let n = Math.max(1, line - 2); n <= line; n++) {
    frame.push(`${n === line ? ">" : " "} ${String(n).padStart(width)} | ${lines[n - 1] ?? ""}`)
  }
  // Keep tabs so the caret lines up under tab-indented text.
  const pad = text.slice(0, col - 1).replace(/[^\t]/g, " ")
  frame.push(`  ${" ".repeat(width)} | ${pad}^`)
  const problem = `${file}:${line}:${col}: TOML syntax error: ${reason}`
  return new ConfigError(`${problem}\n\n${frame.join("\n")}`, [problem])
}

/** A problem found in the file: where it is (when known) and what is wrong. */
export interface Problem {
  line?: number
  text: string
}

/** One error for every problem in a file: in line order, one per line, under the file's name. */
export function fileErrors(file: string, problems: readonly Problem[]): ConfigError {
  const ordered = [...problems].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity))
  const lines = [...new Set(ordered.map((p) => `${file}${p.line ? `:${p.line}` : ""}: ${p.text}`))]
  const count = lines.length === 1 ? "1 problem" : `${lines.length} problems`
  const heading = `Invalid configuration in ${file} (${count}):`
  return new ConfigError(`${heading}\n  ${lines.join("\n  ")}`, lines)
}
