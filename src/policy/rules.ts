/**
 * `[[routing.policies]]`: the first policy whose `model_pattern` matches the model the
 * client asked for, or the model an alias resolves it to, applies. Both names count, so
 * an alias cannot be used to dodge a policy written for the real model.
 * @module
 */
import { resolveAlias } from "../core/aliases.ts"
import { globMatch } from "../core/glob.ts"
import type { RoutingConfig, RoutingPolicy } from "../config/types.ts"

export function policyFor(config: RoutingConfig, model: string): RoutingPolicy | undefined {
  // Read on every request by two stages: without policies there is nothing to resolve.
  if (config.policies.length === 0) return undefined
  const resolved = resolveAlias(config.aliases, model)
  return config.policies.find((p) => globMatch(p.model_pattern, model) || globMatch(p.model_pattern, resolved))
}

/** A header whose value is `true` (case-insensitive). */
export function flag(headers: Headers, name: string): boolean {
  return headers.get(name)?.trim().toLowerCase() === "true"
}
