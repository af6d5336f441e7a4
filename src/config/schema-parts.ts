/**
 * The building blocks of the configuration schema: numbers in a range, durations,
 * case-insensitive enums, trimmed text and strict tables, each with one message.
 * @module
 */
import * as v from "valibot"

/** Longest duration accepted: timers overflow beyond about 24.8 days and would fire at once. */
export const MAX_SECONDS = 1_000_000

/** An integer in [min, max]. Every step says the same thing, so the user reads one message. */
export function int(min: number, max: number, what = `expected an integer between ${min} and ${max}`) {
  return v.pipe(v.number(what), v.integer(what), v.minValue(min, what), v.maxValue(max, what))
}

/** A duration in seconds, fractions allowed; above 0 unless `zero` is allowed. */
export function seconds(zero = false) {
  const what = zero
    ? `expected a number of seconds from 0 to ${MAX_SECONDS}`
    : `expected a number of seconds above 0 (at most ${MAX_SECONDS})`
  return zero
    ? v.pipe(v.number(what), v.minValue(0, what), v.maxValue(MAX_SECONDS, what))
    : v.pipe(v.number(what), v.gtValue(0, what), v.maxValue(MAX_SECONDS, what))
}

/** Case-insensitive enum: `"Smart"` and `" SMART"` are `"smart"`; `aliases` map other spellings. */
export function oneOf<const T extends readonly string[]>(
  values: T,
  aliases: Readonly<Record<string, T[number]>> = {}
) {
  // Read when an issue is raised: some lists are declared after this module loads.
  const what = () => `expected one of: ${values.join(", ")}`
  return v.pipe(
    v.string(what),
    v.transform((s) => {
      const key = s.trim().toLowerCase()
      return aliases[key] ?? key
    }),
    v.picklist(values, what)
  )
}

/** The name of an environment variable (keys live in the environment, not the file). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export const bool = v.boolean("expected true or false")

/** A non-empty string, trimmed. */
export function text(what: string) {
  return v.pipe(v.string(`expected ${what}`), v.trim(), v.nonEmpty(`expected ${what}`))
}

export function table<const E extends v.ObjectEntries>(entries: E, header: string) {
  return v.strictObject(entries, `expected a table (${header} or { … })`)
}

