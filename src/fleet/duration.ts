/**
 * A keep-alive as operators write it, as Ollama reads it: seconds as a number, or a
 * duration (core/duration.ts: "30m", "1h30m", "45s"); any negative value means "until
 * told otherwise".
 * @module
 */
import { DURATION_UNIT_LIST, parseDuration } from "../core/duration.ts"

/** What a keep-alive may be, for the messages of each place that takes one. */
export const KEEP_ALIVE_EXPECTED = `expected seconds or a duration like "30m" or "1h" (${DURATION_UNIT_LIST}); negative: until unloaded`

/** Milliseconds (-1: forever), or undefined when `value` is not a duration. */
export function keepAliveMs(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? (value < 0 ? -1 : Math.round(value * 1000)) : undefined
  if (typeof value !== "string") return undefined
  if (/^\s*-\d/.test(value)) return -1
  return parseDuration(value, "s")
}
