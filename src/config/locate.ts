/**
 * Line numbers for keys and tables. TOML parsers keep no positions, so the source is
 * scanned: table headers set the current table, `[[array]]` headers are counted so that
 * `backends[1].models[0]` points at the right entry, and `key = value` lines are recorded
 * under their full path. Values are skipped, including strings and arrays that span lines.
 * @module
 */
import { formatPath, type PathItem } from "./errors.ts"

/** Full path (as `formatPath` writes it) to the 1-based line where it is defined. */
export type LineIndex = ReadonlyMap<string, number>

const BARE = /^[A-Za-z0-9_-]+/

/** Parse a dotted key at the start of `text`: its segments and where it ends, or undefined. */
function readKey(text: string): { segments: string[]; end: number } | undefined {
  const segments: string[] = []
  let i = 0
  for (;;) {
    while (text[i] === " " || text[i] === "\t") i++
    const rest = text.slice(i)
    const bare = BARE.exec(rest)
    let quoted: RegExpExecArray | null = null
    if (bare) {
      segments.push(bare[0])
      i += bare[0].length
    } else if ((quoted = /^"((?:[^"\\]|\\.)*)"/.exec(rest))) {
      segments.push(unescape(quoted[1]!))
      i += quoted[0].length
    } else if ((quoted = /^'([^']*)'/.exec(rest))) {
      segments.push(quoted[1]!)
      i += quoted[0].length
    } else return undefined
    while (text[i] === " " || text[i] === "\t") i++
    if (text[i] !== ".") return { segments, end: i }
    i++
  }
}

function unescape(s: string): string {
  try {
    return JSON.parse(`"${s}"`) as string
  } catch {
    return s
  }
}

/**
 * Brackets opened minus closed in a value, outside strings and comments, and whether
 * the line leaves a multi-line string open (`"""` or `'''`).
 */
function scanValue(
  text: string,
  openString: string | null
): { depth: number; openString: string | null } {
  let depth = 0
  let i = 0
  let open = openString
  while (i < text.length) {
    if (open) {
      const close = text.indexOf(open, i)
      if (close === -1) return { depth, openString: open }
      i = close + 3
      open = null
      continue
    }
    const c = text[i]!
    if (c === "#") break
    if (text.startsWith('"""', i) || text.startsWith("'''", i)) {
      open = text.slice(i, i + 3)
      i += 3
    } else if (c === '"' || c === "'") {
      const m = (c === '"' ? /^"(?:[^"\\]|\\.)*"/ : /^'[^']*'/).exec(text.slice(i))
      i += m ? m[0].length : text.length
    } else {
      if (c === "[" || c === "{") depth++
      else if (c === "]" || c === "}") depth--
      i++
    }
  }
  return { depth, openString: open }
}

/** Index every table header and key of a TOML text by its full path. */
export function indexLines(source: string): LineIndex {
  const index = new Map<string, number>()
  // Entries seen so far of each array of tables, by its concrete path ("backends[1].models").
  const counts = new Map<string, number>()
  let table: PathItem[] = []
  let depth = 0
  let openString: string | null = null
  const lines = source.split(/\r?\n/)

  /** Concrete path of a header's segments: arrays of tables resolve to their latest entry. */
  const resolveHeader = (segments: string[], isArray: boolean): PathItem[] => {
    const path: PathItem[] = []
    segments.forEach((segment, i) => {
      path.push(segment)
      const key = formatPath(path)
      if (isArray && i === segments.length - 1) {
        const n = counts.get(key) ?? 0
        counts.set(key, n + 1)
        path.push(n)
      } else if (counts.has(key)) path.push(counts.get(key)! - 1)
    })
    return path
  }
  const record = (path: PathItem[], line: number) => {
    const key = formatPath(path)
    if (!index.has(key)) index.set(key, line)
  }

  lines.forEach((raw, n) => {
    const line = n + 1
    if (openString || depth > 0) {
      const s = scanValue(raw, openString)
      openString = s.openString
      depth = Math.max(0, depth + s.depth)
      return
    }
    const text = raw.trimStart()
    const header = /^\[(\[?)/.exec(text)
    if (header) {
      const isArray = header[1] === "["
      const key = readKey(text.slice(isArray ? 2 : 1))
      if (!key) return
      table = resolveHeader(key.segments, isArray)
      record(table, line)
      return
    }
    const key = readKey(text)
    if (!key || text[key.end] !== "=") return
    const full: PathItem[] = [...table]
    // Dotted keys define their intermediate tables on this line too.
    for (const segment of key.segments) {
      full.push(segment)
      record(full, line)
    }
    const s = scanValue(text.slice(key.end + 1), null)
    openString = s.openString
    depth = Math.max(0, s.depth)
  })
  return index
}

/**
 * The line of `path`, or of its nearest ancestor found in the file: a missing key points
 * at its table's header, a bad array element at the array's key.
 */
export function lineOf(index: LineIndex, path: readonly PathItem[]): number | undefined {
  for (let i = path.length; i > 0; i--) {
    const line = index.get(formatPath(path.slice(0, i)))
    if (line !== undefined) return line
  }
  return undefined
}
