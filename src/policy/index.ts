/**
 * The policy stages, in the order they run. Adding a policy means adding a file here
 * and a line below.
 * @module
 */
import type { BackendFilter, PolicyInput, PolicyStage } from "../core/policy.ts"
import { privacyZone } from "./privacy-zone.ts"
import { tier } from "./tier.ts"

export const STAGES: readonly PolicyStage[] = [privacyZone, tier]

/** Run every stage: throws the first rejection, else returns the exclusions to apply. */
export function applyPolicy(input: PolicyInput, stages: readonly PolicyStage[] = STAGES): BackendFilter[] {
  const out: BackendFilter[] = []
  for (const stage of stages) {
    const verdict = stage.check(input)
    if (!verdict) continue
    if ("reject" in verdict) throw verdict.reject
    out.push(verdict.exclude)
  }
  return out
}

