/**
 * The configuration file's schema (valibot). Every table and key is optional with a
 * default; unknown keys are errors; enum values are case-insensitive. The output type
 * is exactly `NexusConfig`.
 * @module
 */
import * as v from "valibot"
import {
  BACKEND_TYPES,
  LOG_FORMATS,
  LOG_LEVELS,
  ROUTING_STRATEGIES,
  ZONES,
  type NexusConfig,
} from "./types.ts"

/** Case-insensitive enum: `"Smart"` and `"SMART"` are `"smart"`. */
function oneOf<const T extends readonly string[]>(values: T, aliases: Record<string, T[number]> = {}) {
  return v.pipe(
    v.string(`expected one of: ${values.join(", ")}`),
    v.transform((s) => {
      const lower = s.trim().toLowerCase()
      return (aliases[lower] ?? lower) as string
    }),
    v.picklist(values, (issue) => `expected one of: ${values.join(", ")}, got ${JSON.stringify(issue.input)}`)
  )
}

const int = (min: number, max: number) =>
  v.pipe(
    v.number(`expected an integer between ${min} and ${max}`),
    v.integer(`expected an integer between ${min} and ${max}`),
    v.minValue(min, `expected an integer between ${min} and ${max}`),
    v.maxValue(max, `expected an integer between ${min} and ${max}`)
  )

const positive = (what = "a positive number") =>
  v.pipe(v.number(`expected ${what}`), v.gtValue(0, `expected ${what}`), v.finite(`expected ${what}`))

const bool = v.boolean("expected true or false")
const str = (what = "a string") => v.string(`expected ${what}`)
const strings = v.array(v.string("expected a string"), "expected an array of strings")

const ServerSchema = v.strictObject({
  host: v.optional(str("a host name or address"), "0.0.0.0"),
  port: v.optional(int(1, 65535), 8000),
  request_timeout_seconds: v.optional(positive(), 300),
  first_byte_timeout_seconds: v.optional(positive(), 60),
  cold_first_byte_timeout_seconds: v.optional(positive(), 180),
  max_body_bytes: v.optional(int(1024, 1024 ** 3), 10 * 1024 * 1024),
  sse_heartbeat_seconds: v.optional(positive(), 5),
  shutdown_timeout_seconds: v.optional(v.pipe(v.number("expected a number of seconds"), v.minValue(0, "expected 0 or more seconds")), 30),
  admin_token: v.optional(v.pipe(str(), v.minLength(8, "expected at least 8 characters"))),
  data_dir: v.optional(str("a directory path")),
})

/** `_llm._tcp.local.` and `_llm._tcp` name the same browse type. */
const serviceType = v.pipe(
  str("a DNS-SD service type like _llm._tcp"),
  v.transform((s) => s.trim().replace(/\.$/, "").replace(/\.local$/, "")),
  v.regex(/^_[a-z0-9-]+\._(tcp|udp)$/i, "expected a DNS-SD service type like _llm._tcp")
)

const DiscoverySchema = v.strictObject({
  enabled: v.optional(bool, true),
  service_types: v.optional(v.array(serviceType, "expected an array of service types"), ["_ollama._tcp", "_llm._tcp"]),
  grace_period_seconds: v.optional(v.pipe(v.number("expected a number of seconds"), v.minValue(0, "expected 0 or more seconds")), 60),
  probe_hosts: v.optional(strings, []),
  probe_ports: v.optional(v.array(int(1, 65535), "expected an array of ports"), [11434, 1234, 8000, 8080, 52415]),
  probe_interval_seconds: v.optional(positive(), 30),
  advertise: v.optional(bool, true),
})

const HealthSchema = v.strictObject({
  enabled: v.optional(bool, true),
  interval_seconds: v.optional(positive(), 30),
  timeout_seconds: v.optional(positive(), 5),
  failure_threshold: v.optional(int(1, 100), 3),
  recovery_threshold: v.optional(int(1, 100), 2),
})

const weight = v.pipe(v.number("expected a number from 0 to 100"), v.minValue(0, "expected a number from 0 to 100"), v.maxValue(100, "expected a number from 0 to 100"))

const WeightsSchema = v.pipe(
  v.strictObject({
    priority: v.optional(weight, 50),
    load: v.optional(weight, 30),
    latency: v.optional(weight, 20),
    warm: v.optional(weight, 10),
    errors: v.optional(weight, 10),
  }),
  v.check((w) => w.priority + w.load + w.latency + w.warm + w.errors > 0, "at least one weight must be above 0")
)

const RoutingSchema = v.strictObject({
  strategy: v.optional(oneOf(ROUTING_STRATEGIES), "smart"),
  max_retries: v.optional(int(0, 10), 2),
  weights: v.optional(WeightsSchema, {}),
  aliases: v.optional(v.record(v.string(), str("a model name")), {}),
  fallbacks: v.optional(v.record(v.string(), v.array(str("a model name"), "expected an array of model names")), {}),
  circuit_breaker: v.optional(
    v.strictObject({
      failure_threshold: v.optional(int(1, 1000), 5),
      cooldown_seconds: v.optional(positive(), 30),
    }),
    {}
  ),
})

const QueueSchema = v.strictObject({
  max_size: v.optional(int(0, 100_000), 100),
  max_wait_seconds: v.optional(positive(), 30),
})

const ModelOverrideSchema = v.strictObject({
  name: v.pipe(str("a model name"), v.nonEmpty("expected a model name")),
  context_length: v.optional(int(1, 100_000_000)),
  vision: v.optional(bool),
  tools: v.optional(bool),
  json_mode: v.optional(bool),
  embeddings: v.optional(bool),
})

const url = v.pipe(
  str("an http:// or https:// URL"),
  v.check((s) => {
    try {
      const u = new URL(s)
      return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== ""
    } catch {
      return false
    }
  }, (issue) => `expected an http:// or https:// URL, got ${JSON.stringify(issue.input)}`)
)

const BackendSchema = v.strictObject({
  name: v.pipe(str("a name"), v.trim(), v.nonEmpty("expected a non-empty name")),
  url,
  type: oneOf(BACKEND_TYPES, { "llama.cpp": "llamacpp", llama_cpp: "llamacpp", "llama-cpp": "llamacpp", generic: "openai" }),
  priority: v.optional(int(-1000, 1000), 50),
  api_key_env: v.optional(v.pipe(str("an environment variable name"), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an environment variable name like OPENAI_API_KEY"))),
  zone: v.optional(oneOf(ZONES)),
  tier: v.optional(int(1, 5), 1),
  timeout_seconds: v.optional(positive()),
  max_concurrent: v.optional(int(1, 100_000)),
  models: v.optional(v.array(ModelOverrideSchema, "expected an array of [[backends.models]] tables"), []),
})

const LoggingSchema = v.strictObject({
  level: v.optional(oneOf(LOG_LEVELS), "info"),
  format: v.optional(oneOf(LOG_FORMATS), "pretty"),
})

export const ConfigSchema = v.pipe(
  v.strictObject({
    server: v.optional(ServerSchema, {}),
    discovery: v.optional(DiscoverySchema, {}),
    health_check: v.optional(HealthSchema, {}),
    routing: v.optional(RoutingSchema, {}),
    backends: v.optional(v.array(BackendSchema, "expected [[backends]] tables"), []),
    queue: v.optional(QueueSchema, {}),
    logging: v.optional(LoggingSchema, {}),
  }),
  v.transform((c) => ({
    ...c,
    // Cloud-style OpenAI backends default to the open zone, local servers to restricted.
    backends: c.backends.map((b) => ({ ...b, zone: b.zone ?? (b.type === "openai" ? "open" : "restricted") })),
  }))
)

// The schema's output and NexusConfig must stay the same shape.
type Output = v.InferOutput<typeof ConfigSchema>
const _forward: (o: Output) => NexusConfig = (o) => o
const _backward: (c: NexusConfig) => Output = (c) => c
void _forward
void _backward

/** The schema of each table, for "did you mean" lookups of unknown keys. */
export const TABLE_KEYS: Record<string, readonly string[]> = {
  "": ["server", "discovery", "health_check", "routing", "backends", "queue", "logging"],
  server: Object.keys(ServerSchema.entries),
  discovery: Object.keys(DiscoverySchema.entries),
  health_check: Object.keys(HealthSchema.entries),
  routing: Object.keys(RoutingSchema.entries),
  "routing.weights": ["priority", "load", "latency", "warm", "errors"],
  "routing.circuit_breaker": ["failure_threshold", "cooldown_seconds"],
  backends: Object.keys(BackendSchema.entries),
  "backends.models": Object.keys(ModelOverrideSchema.entries),
  queue: Object.keys(QueueSchema.entries),
  logging: Object.keys(LoggingSchema.entries),
}
