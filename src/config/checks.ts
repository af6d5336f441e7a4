/**
 * Checks that span several keys: the routing weights' sum, unique backend and model
 * names, alias cycles and chain length. They read the raw parsed file, not the schema's
 * output, so they are reported together with type errors elsewhere in the same file;
 * a value with the wrong type is skipped here (the schema reports it).
 * @module
 */
import { isGlob, MAX_ALIAS_HOPS } from "../core/aliases.ts"
import { modelKey } from "../core/model-name.ts"
import { formatPath, type PathItem } from "./errors.ts"
import { DEFAULT_WEIGHTS } from "./schema.ts"

/** A problem at `path` (as shown), located in the file at `at` (defaults to `path`). */
export interface CrossCheck {
  path: PathItem[]
  at?: PathItem[]
  message: string
}

type Table = Record<string, unknown>

function isTable(value: unknown): value is Table {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date)
  )
}

function tableAt(raw: unknown, ...keys: string[]): Table | undefined {
  let current = raw
  for (const key of keys) current = isTable(current) ? current[key] : undefined
  return isTable(current) ? current : undefined
}

/**
 * `priority + load + latency` must be 100, as in the original; `warm` and `errors` are
 * extra signals on the same scale.
 */
function weightSum(raw: unknown): CrossCheck[] {
  const w = tableAt(raw, "routing", "weights")
  if (!w) return []
  const parts = (["priority", "load", "latency"] as const).map((k) => w[k] ?? DEFAULT_WEIGHTS[k])
  if (!parts.every((p): p is number => typeof p === "number" && Number.isFinite(p))) return []
  const sum = parts.reduce((a, b) => a + b, 0)
  if (Math.abs(sum - 100) < 1e-9) return []
  const [priority, load, latency] = parts
  return [
    {
      path: ["routing", "weights"],
      message:
        `priority + load + latency must add up to 100, got ${priority} + ${load} + ${latency}` +
        ` = ${sum} (a key left out keeps its default)`,
    },
  ]
}

/** Every later entry whose `name` repeats an earlier one's, naming both indexes. */
function duplicates(items: unknown, prefix: PathItem[], what: string): CrossCheck[] {
  if (!Array.isArray(items)) return []
  const first = new Map<string, number>()
  const out: CrossCheck[] = []
  items.forEach((item, i) => {
    const name = isTable(item) && typeof item.name === "string" ? item.name.trim() : ""
    if (!name) return
    const before = first.get(name)
    if (before === undefined) first.set(name, i)
    else {
      out.push({
        path: [...prefix, i, "name"],
        message:
          `${JSON.stringify(name)} is already used by ${formatPath([...prefix, before])}; ` +
          `${what} must be unique`,
      })
    }
  })
  return out
}

function uniqueNames(raw: unknown): CrossCheck[] {
  const backends = isTable(raw) ? raw.backends : undefined
  const out = duplicates(backends, ["backends"], "backend names")
  if (Array.isArray(backends)) {
    backends.forEach((b, i) => {
      if (!isTable(b)) return
      out.push(...duplicates(b.models, ["backends", i, "models"], "model names within a backend"))
    })
  }
  return out
}

/**
 * Alias cycles (`a -> b -> a`, `a -> a`) and chains longer than routing follows. Each
 * cycle is reported once, from its first key in file order; a chain is reported from
 * its head only, not from every alias along it.
 */
export function aliasProblems(aliases: Readonly<Record<string, unknown>>): CrossCheck[] {
  const next = new Map<string, string>()
  for (const [k, val] of Object.entries(aliases)) {
    if (typeof val === "string") next.set(k, val.trim())
  }
  const targets = new Set(next.values())
  const reported = new Set<string>()
  const out: CrossCheck[] = []
  for (const start of next.keys()) {
    const chain = [start]
    let current = start
    let cycleAt = -1
    while (next.has(current)) {
      current = next.get(current)!
      cycleAt = chain.indexOf(current)
      chain.push(current)
      if (cycleAt !== -1) break
    }
    if (cycleAt !== -1) {
      const cycle = chain.slice(cycleAt)
      const members = [...new Set(cycle)].sort().join("\u0000")
      if (reported.has(members)) continue
      reported.add(members)
      out.push({
        path: ["routing", "aliases"],
        at: ["routing", "aliases", cycle[0]!],
        message: `alias cycle ${cycle.join(" -> ")}`,
      })
    } else if (chain.length - 1 > MAX_ALIAS_HOPS && !targets.has(start)) {
      out.push({
        path: ["routing", "aliases"],
        at: ["routing", "aliases", start],
        message:
          `alias chain ${chain.join(" -> ")} has ${chain.length - 1} hops; ` +
          `at most ${MAX_ALIAS_HOPS} are followed`,
      })
    }
  }
  return out
}

/** Alias keys that name one model (names are blind to case and `:latest`): which would apply is a guess. */
function sameAliasKeys(aliases: Record<string, unknown>): CrossCheck[] {
  const first = new Map<string, string>()
  const out: CrossCheck[] = []
  for (const key of Object.keys(aliases)) {
    if (isGlob(key)) continue
    const seen = first.get(modelKey(key))
    if (seen === undefined) first.set(modelKey(key), key)
    else
      out.push({
        path: ["routing", "aliases"],
        at: ["routing", "aliases", key],
        message: `aliases ${JSON.stringify(seen)} and ${JSON.stringify(key)} name the same model (names are blind to case and :latest); keep one`,
      })
  }
  return out
}

/** Every cross-key problem in a parsed (not yet validated) configuration. */
export function crossChecks(raw: unknown): CrossCheck[] {
  const aliases = tableAt(raw, "routing", "aliases")
  return [...weightSum(raw), ...uniqueNames(raw), ...(aliases ? [...aliasProblems(aliases), ...sameAliasKeys(aliases)] : [])]
}
