/**
 * Privacy zone: a request marked `X-Nexus-Privacy: restricted` never leaves hardware
 * the operator controls, so backends in the open zone (cloud APIs) are excluded.
 * @module
 */
import type { PolicyStage } from "../core/policy.ts"

export const privacyZone: PolicyStage = {
  name: "privacy_zone",
  check({ headers }) {
    const wanted = headers.get("x-nexus-privacy")?.trim().toLowerCase()
    if (wanted !== "restricted") return undefined
    return {
      exclude: (b) => (b.zone === "restricted" ? undefined : "privacy zone: the request is restricted, this backend is in the open zone"),
    }
  },
}
