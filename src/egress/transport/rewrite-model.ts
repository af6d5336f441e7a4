/**
 * Replace the top-level `"model"` value of a JSON request body without re-serialising
 * it, so every other byte (field order, number formatting, unknown fields) reaches the
 * backend exactly as the client sent it.
 * @module
 */

/**
 * Return `body` with its top-level `model` string replaced by `model`.
 * The body must be a JSON object (the caller has already parsed it once).
 * @example
 * rewriteModel('{"model":"gpt-4","n":1.0}', "llama3") // '{"model":"llama3","n":1.0}'
 */
export function rewriteModel(body: string, model: string): string {
  const span = findTopLevelString(body, "model")
  if (!span) return body
  return body.slice(0, span.start) + JSON.stringify(model) + body.slice(span.end)
}

/**
 * Return `body` with the top-level number under the first of `keys` present set to
 * `value`, every other byte untouched (the output budget clamp on a pass-through body).
 */
export function rewriteNumber(body: string, keys: readonly string[], value: number): string {
  for (const key of keys) {
    const span = findTopLevelString(body, key, "number")
    if (span) return body.slice(0, span.start) + String(value) + body.slice(span.end)
  }
  return body
}

interface Span {
  start: number
  end: number
}

/** Locate the JSON string value of a top-level key: [start, end) covers the quotes. */
export function findTopLevelString(text: string, key: string, kind: "string" | "number" = "string"): Span | undefined {
  let depth = 0
  let i = 0
  const n = text.length
  let expectKey = false
  while (i < n) {
    const ch = text.charCodeAt(i)
    if (ch === 0x22 /* " */) {
      const end = skipString(text, i)
      if (depth === 1 && expectKey) {
        const name = JSON.parse(text.slice(i, end)) as string
        let j = end
        while (j < n && isSpace(text.charCodeAt(j))) j++
        if (text.charCodeAt(j) === 0x3a /* : */) {
          j++
          while (j < n && isSpace(text.charCodeAt(j))) j++
          if (name === key && kind === "string" && text.charCodeAt(j) === 0x22) {
            return { start: j, end: skipString(text, j) }
          }
          if (name === key && kind === "number" && isNumberChar(text.charCodeAt(j))) {
            let end = j
            while (end < n && isNumberChar(text.charCodeAt(end))) end++
            return { start: j, end }
          }
          expectKey = false
          i = j
          continue
        }
      }
      i = end
      continue
    }
    if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) {
      depth++
      expectKey = ch === 0x7b && depth === 1
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      depth--
    } else if (ch === 0x2c /* , */ && depth === 1) {
      expectKey = true
    }
    i++
  }
  return undefined
}

/** Index just past the closing quote of the string starting at `start`. */
function skipString(text: string, start: number): number {
  let i = start + 1
  while (i < text.length) {
    const ch = text.charCodeAt(i)
    if (ch === 0x5c /* \ */) i += 2
    else if (ch === 0x22) return i + 1
    else i++
  }
  return text.length
}

function isNumberChar(ch: number): boolean {
  // 0-9 - + . e E
  return (ch >= 0x30 && ch <= 0x39) || ch === 0x2d || ch === 0x2b || ch === 0x2e || ch === 0x65 || ch === 0x45
}

function isSpace(ch: number): boolean {
  return ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09
}
