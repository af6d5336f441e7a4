/**
 * Alias chains are checked when the configuration loads, so routing never meets a cycle.
 * @module
 */
import { MAX_ALIAS_HOPS } from "../routing/aliases.ts"

/** A human description of the first cycle or over-long chain, or undefined when all is well. */
export function resolveAliasCycle(aliases: Record<string, string>): string | undefined {
  for (const start of Object.keys(aliases)) {
    const chain = [start]
    let current = start
    while (aliases[current] !== undefined) {
      current = aliases[current]!
      if (chain.includes(current)) return `alias cycle ${[...chain, current].join(" -> ")}`
      chain.push(current)
    }
    if (chain.length - 1 > MAX_ALIAS_HOPS) {
      return `alias chain ${chain.join(" -> ")} has ${chain.length - 1} hops; at most ${MAX_ALIAS_HOPS} are followed`
    }
  }
  return undefined
}
