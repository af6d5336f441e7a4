/**
 * `[fleet]`: what Nexus does about model residency on servers that load and unload
 * models (Ollama, LM Studio, llama.cpp in router mode), and `[[fleet.pins]]`, models kept
 * loaded on a backend, always or in weekly windows.
 * @module
 */
import * as v from "valibot"
import { bool, int, oneOf, table, text } from "./schema-parts.ts"
import { WEEKDAYS } from "./types.ts"

const TIME_EXPECTED = 'expected a time of day "HH:MM" (00:00 to 24:00)'

/** "HH:MM" as minutes after midnight; "24:00" is the end of the day. */
const timeOfDay = v.pipe(
  v.string(TIME_EXPECTED),
  v.trim(),
  v.regex(/^([01]?\d|2[0-3]):[0-5]\d$|^24:00$/, TIME_EXPECTED)
)

export const PinSchema = table(
  {
    model: text("a model name"),
    backend: text("a backend name"),
    // An empty list would be a pin that never holds, shown as if it did.
    days: v.optional(v.pipe(v.array(oneOf(WEEKDAYS), `expected an array of days: ${WEEKDAYS.join(", ")}`), v.minLength(1, `expected at least one day (${WEEKDAYS.join(", ")}); leave days out for every day`))),
    from: v.optional(timeOfDay),
    to: v.optional(timeOfDay),
  },
  "[[fleet.pins]]"
)

export const FleetSchema = table(
  {
    enabled: v.optional(bool, true),
    loading_status: v.optional(bool, false),
    auto: v.optional(bool, false),
    prewarm_minutes: v.optional(int(0, 60, "expected whole minutes between 0 and 60 (0: no pre-warming)"), 5),
    idle_unload_minutes: v.optional(int(1, 10_080, "expected whole minutes between 1 and 10080 (a week)"), 15),
    pins: v.optional(v.array(PinSchema, "expected [[fleet.pins]] tables"), () => []),
  },
  "[fleet]"
)
