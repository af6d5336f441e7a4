/**
 * Alias resolution: up to three hops, as in the original. Cycles are rejected when
 * the configuration loads, so here a cycle can only cut the walk short. Pure and below
 * both config (which rejects chains longer than the limit) and routing (which follows them).
 * @module
 */

export const MAX_ALIAS_HOPS = 3

/** Follow `aliases` from `model`; returns the final name (the input when no alias applies). */
export function resolveAlias(aliases: Record<string, string>, model: string): string {
  let current = model
  for (let hop = 0; hop < MAX_ALIAS_HOPS; hop++) {
    const next = aliases[current]
    if (next === undefined || next === current) break
    current = next
  }
  return current
}
