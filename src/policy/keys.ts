/**
 * The API key stage: what the request's key allows. Its model globs are matched against
 * the model the router resolved (and each fallback's own model), under every name the
 * router treats as that model, so no alias, case or `:latest` spelling reaches a model
 * outside them. At its monthly cap (spend recorded plus reservations of its requests in
 * flight), or while its spend cannot be read, a key's requests stay off cloud backends.
 * A `restricted` key is a restricted request (rules.ts): the privacy zone excludes.
 * @module
 */
import type { ApiKey } from "../core/api-key.ts"
import { isCloud } from "../core/backend.ts"
import { NexusError } from "../core/errors.ts"
import { modelMatch } from "../core/glob.ts"
import type { PolicyStage } from "../core/policy.ts"
import { usd } from "./budget.ts"

/** A key's month so far: recorded spend plus what its cloud requests in flight reserved. */
export interface KeySpend {
  committedUsd: number
  /** Set while the key's recorded spend cannot be read: its cap cannot be checked. */
  error?: string
}

/** Whether `globs` let a key use `model` (under any name the router gives it). */
export function keyAllows(globs: readonly string[] | undefined, model: string): boolean {
  if (!globs) return true
  for (const g of globs) if (modelMatch(g, model)) return true
  return false
}

export function keyStage(spendOf: (key: ApiKey) => KeySpend): PolicyStage {
  return {
    name: "api_key",
    check(input) {
      const key = input.key
      if (!key) return undefined
      if (!keyAllows(key.models, input.resolved)) {
        return {
          reject: new NexusError({
            kind: "permission",
            message: `This API key may not use model '${input.model}'; it may use: ${key.models!.join(", ") || "no model"}.`,
            code: "model_not_allowed",
            param: "model",
          }),
        }
      }
      if (!key.models && key.monthlyUsd === undefined) return undefined
      const cap = key.monthlyUsd
      return {
        exclude(b, model) {
          if (!keyAllows(key.models, model)) return { rule: "api_key", reason: `api key: model ${model} is not allowed for key '${key.name}'` }
          if (cap === undefined || !isCloud(b)) return undefined
          const s = spendOf(key)
          if (s.error !== undefined) return { rule: "api_key", reason: `api key: the spend of key '${key.name}' cannot be read (${s.error}), so its monthly cap cannot be checked; cloud backends stay blocked` }
          if (s.committedUsd >= cap) return { rule: "api_key", reason: `api key: key '${key.name}' reached its monthly cap (${usd(s.committedUsd)} committed of ${usd(cap)})` }
          return undefined
        },
      }
    },
  }
}
