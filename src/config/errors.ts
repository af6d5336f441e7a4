/**
 * Configuration errors written for the person editing the file: which key, in which
 * table, on which line, what is allowed, and the closest valid key when one is near.
 * Never a stack trace; `nexus` exits with code 2.
 * @module
 */

export class ConfigError extends Error {
  readonly exitCode = 2
  constructor(message: string) {
    super(message)
    this.name = "ConfigError"
  }
}

export type PathItem = string | number

/** `backends[1].type`, `routing.weights`, … */
export function formatPath(path: readonly PathItem[]): string {
  let out = ""
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${p}` : p
  return out
}

/** The table a key lives in, without array indexes: `backends.models`. */
export function tableOf(path: readonly PathItem[]): string {
  return path.filter((p) => typeof p === "string").join(".")
}

export function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length]!
}

/** The valid key closest to `key`, if it is close enough to be a likely typo. */
export function closest(key: string, valid: readonly string[]): string | undefined {
  const k = key.toLowerCase()
  let best: string | undefined
  let bestScore = Infinity
  for (const candidate of valid) {
    const c = candidate.toLowerCase()
    const d = c.startsWith(k) || k.startsWith(c) ? 1 : levenshtein(k, c)
    if (d < bestScore) {
      bestScore = d
      best = candidate
    }
  }
  return bestScore <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined
}

/**
 * The 1-based line on which `key` is set inside the table at `path` (e.g. `["backends", 1]`),
 * found by scanning table headers: TOML parsers do not keep positions. Without `key`,
 * the line of the table's header.
 */
export function locateKey(source: string, path: readonly PathItem[], key?: string): number | undefined {
  const lines = source.split(/\r?\n/)
  const table = tableOf(path)
  const top = typeof path[0] === "string" ? path[0] : ""
  const topIndex = typeof path[1] === "number" ? path[1] : undefined
  let current = ""
  let arrayIndex = -1
  let headerLine: number | undefined
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    const header = /^\[(\[?)\s*([^\]]+?)\s*\]\]?/.exec(line)
    if (header) {
      current = header[2]!.replace(/\s*\.\s*/g, ".").replace(/"/g, "")
      if (header[1] && current === top) arrayIndex++
      if (current === table && (topIndex === undefined || arrayIndex === topIndex)) {
        if (!key) return i + 1
        headerLine ??= i + 1
      }
      continue
    }
    if (!key) continue
    const inTable = current === table && (topIndex === undefined || arrayIndex === topIndex)
    // Dotted keys at the top (`server.port = 1`) count as that table too.
    const m = /^("?)([A-Za-z0-9_.-]+)\1\s*=/.exec(line)
    if (!m) continue
    if (inTable && m[2] === key) return i + 1
    if (topIndex === undefined && m[2]!.includes(".")) {
      const full = current ? `${current}.${m[2]}` : m[2]!
      if (full === (table ? `${table}.${key}` : key)) return i + 1
    }
  }
  return headerLine
}

/** A TOML syntax error with line, column and a small code frame. */
export function syntaxError(file: string, source: string, err: { line?: number; col?: number; message: string }): ConfigError {
  const line = (err.line ?? 0) + 1
  const col = (err.col ?? 0) + 1
  const reason = err.message.split("\n")[0]!.replace(/ at row \d+, col \d+, pos \d+:?$/, "")
  const lines = source.split(/\r?\n/)
  const frame: string[] = []
  for (let n = Math.max(1, line - 2); n <= Math.min(lines.length, line); n++) {
    const num = String(n).padStart(4)
    frame.push(`${n === line ? ">" : " "}${num} | ${lines[n - 1]}`)
  }
  frame.push(`${" ".repeat(5)} | ${" ".repeat(Math.max(0, col - 1))}^`)
  return new ConfigError(`${file}:${line}:${col}: TOML syntax error: ${reason}\n\n${frame.join("\n")}`)
}
