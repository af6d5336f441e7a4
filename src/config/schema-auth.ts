/**
 * The schema of `[auth]`: client API keys. Off by default, so a gateway without a file
 * keeps answering everybody on the network as before.
 * @module
 */
import * as v from "valibot"
import { bool, table } from "./schema-parts.ts"

export const AuthSchema = table(
  {
    required: v.optional(bool, false),
    public_health: v.optional(bool, true),
    public_metrics: v.optional(bool, true),
  },
  "[auth]"
)
