/**
 * One setting given as text (a NEXUS_* variable, a flag), checked by the schema's rule
 * for its key (`FIELDS` in schema.ts), so every surface accepts the same values and says
 * the same thing about a bad one. Only reading text is done here: which strings are
 * numbers or booleans. Ranges, choices and their messages stay in the schema.
 * @module
 */
import * as v from "valibot"

/** A checked value, or what was expected instead (the schema's message). */
export type Checked<T> = { ok: true; value: T } | { ok: false; expected: string }

/** Check `raw` against one key's schema; a failure carries the schema's first message. */
export function check<S extends v.GenericSchema>(schema: S, raw: unknown): Checked<v.InferOutput<S>> {
  const result = v.safeParse(schema, raw)
  return result.success ? { ok: true, value: result.output } : { ok: false, expected: result.issues[0].message }
}

/**
 * Text read as a number when it is plain decimal ("-5", "8000", "0.5"); anything else is
 * passed on unchanged for the schema to refuse. Number("0x1F"), Number("1e3") and
 * Number("") are numbers too, but nobody means them as a port or a priority.
 */
export function numberFrom(raw: unknown): unknown {
  return typeof raw === "string" && /^\s*-?\d+(?:\.\d+)?\s*$/.test(raw) ? Number(raw) : raw
}

const TRUE = ["true", "1", "yes", "on"]
const FALSE = ["false", "0", "no", "off"]

/** What a variable or flag accepts beyond the file's true and false. */
export const BOOLEAN_WORDS = "also 1/0, yes/no, on/off"

/** Text read as a boolean from the words in BOOLEAN_WORDS; anything else is passed on. */
export function booleanFrom(raw: unknown): unknown {
  if (typeof raw !== "string") return raw
  const s = raw.trim().toLowerCase()
  return TRUE.includes(s) ? true : FALSE.includes(s) ? false : raw
}

/** A bad value as every surface reports it: `NAME="raw": expected …`; secrets without the value. */
export function problem(name: string, raw: unknown, expected: string, secret = false): string {
  return `${name}${secret ? "" : `=${JSON.stringify(raw)}`}: ${expected}`
}

/**
 * For a command that checks several values: `schema`'s output for `raw` (read from text by
 * `read`), or undefined with the refusal added to `problems`, so all of them are listed.
 */
export function checkInto<S extends v.GenericSchema>(
  problems: string[],
  name: string,
  raw: unknown,
  schema: S,
  read: (raw: unknown) => unknown = (r) => r
): v.InferOutput<S> | undefined {
  const checked = check(schema, read(raw))
  if (checked.ok) return checked.value
  problems.push(problem(name, raw, checked.expected))
  return undefined
}
