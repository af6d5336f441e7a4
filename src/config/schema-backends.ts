/**
 * `[[backends]]`: the servers Nexus routes to, each with its type, and `[[backends.models]]`,
 * corrections to what a server reports. The types, their other spellings, default URLs
 * and zones are the providers' declarations (core/locality.ts).
 * @module
 */
import * as v from "valibot"
import { defaultUrl, defaultZone, isPrivateUrl, TYPE_ALIASES, typesWithDefaultUrl } from "../core/locality.ts"
import { isCleanText, isHttpUrl } from "./addresses.ts"
import { bool, ENV_NAME, int, oneOf, seconds, table, text } from "./schema-parts.ts"
import { modelGlob } from "./schema-policy.ts"
import { BACKEND_TYPES, ZONES, type BackendConfig, type BackendType, type ModelOverride } from "./types.ts"

export const ModelOverrideSchema = table(
  {
    name: text("a model name"),
    context_length: v.optional(int(1, 100_000_000, "expected a positive integer (tokens)")),
    vision: v.optional(bool),
    tools: v.optional(bool),
    json_mode: v.optional(bool),
    embeddings: v.optional(bool),
  },
  "[[backends.models]]"
)

/**
 * `type = "openai"` used to mean any OpenAI-compatible server; it now names the OpenAI
 * cloud. A file that points it at a server on the LAN keeps working as `generic`.
 */
export function mappedType(type: BackendType, url: string, keyed = false): BackendType {
  return type === "openai" && !keyed && isPrivateUrl(url) ? "generic" : type
}

/**
 * The fields of a `[[backends]]` entry. The admin API validates with these same schemas,
 * so a value refused in the file is refused over HTTP with the same words.
 */
export const BackendFields = table(
  {
    // Names appear in response headers and metric labels: no control characters.
    name: v.pipe(
      text("a backend name"),
      v.regex(/^[^\p{Cc}]+$/u, "expected a backend name without control characters")
    ),
    // Optional only for cloud types, which have a default (checked below).
    url: v.optional(
      v.pipe(
        v.string("expected an http:// or https:// URL"),
        v.trim(),
        v.check(isHttpUrl, "expected an http:// or https:// URL with a host, like http://localhost:11434"),
        v.check(isCleanText, "expected a URL of valid UTF-8 (every %XX escape must encode UTF-8)")
      )
    ),
    type: oneOf(BACKEND_TYPES, TYPE_ALIASES),
    priority: v.optional(
      int(-1000, 1000, "expected an integer between -1000 and 1000 (lower is preferred)"),
      50
    ),
    api_key_env: v.optional(
      v.pipe(
        v.string("expected the name of an environment variable"),
        v.trim(),
        v.regex(
          ENV_NAME,
          "expected the name of an environment variable, like OPENAI_API_KEY (the key itself goes in the environment)"
        )
      )
    ),
    zone: v.optional(oneOf(ZONES)),
    tier: v.optional(int(1, 5), 1),
    timeout_seconds: v.optional(seconds()),
    max_concurrent: v.optional(int(1, 100_000)),
    memory_gb: v.optional(v.pipe(v.number("expected a number of GB above 0"), v.gtValue(0, "expected a number of GB above 0"), v.maxValue(1_000_000, "expected a number of GB above 0 (at most 1000000)"))),
    // Globs (`models = ["gpt-4o-mini", "claude-*"]`) limit what a backend serves;
    // tables ([[backends.models]]) correct what it reports. Both may be mixed.
    models: v.optional(
      v.array(
        v.lazy((item) => (typeof item === "string" ? modelGlob : ModelOverrideSchema)),
        "expected an array of model globs, or [[backends.models]] tables"
      ),
      () => []
    ),
  },
  "[[backends]]"
)

const URL_REQUIRED = () => `required: the server's http:// or https:// URL (only ${typesWithDefaultUrl().join(", ")} have a default)`

export const BackendSchema = v.pipe(
  BackendFields,
  v.forward(v.partialCheck([["url"], ["type"]], (b) => b.url !== undefined || defaultUrl(b.type) !== undefined, URL_REQUIRED), ["url"]),
  v.transform(({ models, url: given, ...rest }) => {
    const url = given ?? defaultUrl(rest.type)!
    const type = mappedType(rest.type, url, rest.api_key_env !== undefined)
    const globs = models.filter((m): m is string => typeof m === "string")
    return {
      ...rest,
      url,
      type,
      zone: rest.zone ?? defaultZone(type),
      models: models.filter((m): m is ModelOverride => typeof m !== "string"),
      ...(globs.length ? { allow_models: globs } : {}),
    }
  })
)

/**
 * A backend entry with every default a `[[backends]]` table would get, for backends that
 * come from the admin API, the store or discovery rather than the file.
 */
export function backendWithDefaults(fields: Pick<BackendConfig, "name" | "url" | "type"> & Partial<BackendConfig>): BackendConfig {
  return v.parse(BackendSchema, fields) as BackendConfig
}
