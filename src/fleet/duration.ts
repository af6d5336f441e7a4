/**
 * A keep-alive as operators write it, as Ollama reads it: seconds as a number, or a
 * duration like "30m", "1h30m", "45s"; any negative value means "until told otherwise".
 * @module
 */

/** Milliseconds (-1: forever), or undefined when `value` is not a duration. */
export function keepAliveMs(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? (value < 0 ? -1 : Math.round(value * 1000)) : undefined
  if (typeof value !== "string") return undefined
  const s = value.trim().toLowerCase()
  if (/^-\d/.test(s)) return -1
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000)
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(s)) return undefined
  let total = 0
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    const n = Number(m[1])
    total += m[2] === "h" ? n * 3_600_000 : m[2] === "m" ? n * 60_000 : m[2] === "s" ? n * 1000 : n
  }
  return Math.round(total)
}
