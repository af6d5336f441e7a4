/**
 * Durations as people write them, read by one parser everywhere (API key lifetimes,
 * model keep-alives). The grammar, case-insensitive, blanks allowed around each part:
 *
 *     duration = term { term }          "90d", "1h30m", "1.5h", "2w 3d", "500ms"
 *     term     = number unit
 *     number   = digits [ "." digits ]
 *     unit     = "ms" | "s" | "m" | "h" | "d" | "w"
 *
 * Go's durations ("1h30m", "45s", "300ms") are in it, as are the day and week that
 * lifetimes need. A bare number means nothing unless the caller names its unit.
 * @module
 */

/** Milliseconds per unit, longest spelling first so `ms` is not read as `m` then `s`. */
export const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const

export type DurationUnit = keyof typeof DURATION_UNITS

/** For error messages: the units, as the grammar spells them. */
export const DURATION_UNIT_LIST = Object.keys(DURATION_UNITS).join(", ")

const NUMBER = /^\s*(\d+(?:\.\d+)?)\s*$/
const WHOLE = /^\s*(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w)\s*)+$/i
const TERM = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gi

/**
 * `text` in whole milliseconds, or undefined when it is not a duration (or too long to
 * count exactly). With `bare`, a number without a unit counts in that unit.
 */
export function parseDuration(text: string, bare?: DurationUnit): number | undefined {
  if (bare !== undefined) {
    const n = NUMBER.exec(text)
    if (n) return finite(Number(n[1]) * DURATION_UNITS[bare])
  }
  if (!WHOLE.test(text)) return undefined
  let total = 0
  for (const m of text.matchAll(TERM)) total += Number(m[1]) * DURATION_UNITS[m[2]!.toLowerCase() as DurationUnit]
  return finite(total)
}

function finite(ms: number): number | undefined {
  const whole = Math.round(ms)
  return Number.isSafeInteger(whole) ? whole : undefined
}
