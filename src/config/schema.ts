/**
 * The configuration file's schema (valibot). Every table and key is optional with a
 * default, except what a `[[backends]]` entry cannot do without (name, url, type).
 * Unknown keys are errors; enum values are case-insensitive. Each message says what is
 * allowed; the loader adds the key path, the line and the value it got. Checks that span
 * keys (weight sum, unique names, alias cycles) live in checks.ts.
 * @module
 */
import * as v from "valibot"
import { BIND_HOST_EXPECTED, isBindHost, isHostPort, isHttpOrigin } from "./addresses.ts"
import { ENV_VARS } from "./env-names.ts"
import { bool, ENV_NAME, int, oneOf, seconds, table, text } from "./schema-parts.ts"
import { BackendFields, BackendSchema, ModelOverrideSchema } from "./schema-backends.ts"
import { AuthSchema } from "./schema-auth.ts"
import { StateSchema } from "./schema-state.ts"
import { BudgetSchema, modelGlob, PolicySchema, PriceSchema } from "./schema-policy.ts"
import { FleetSchema, PinSchema } from "./schema-fleet.ts"
import {
  BACKEND_TYPES,
  LOG_FORMATS,
  LOG_LEVELS,
  ROUTING_STRATEGIES,
  type NexusConfig,
} from "./types.ts"

const ORIGIN_EXPECTED = 'expected an origin like "https://api.openai.com" (scheme, host, port; no path)'

/**
 * `[server.runtime_api_keys]`: VARIABLE = [origins]. The only keys a backend added at run
 * time may send, and only to these origins (see runtime-keys.ts). The admin token's
 * variable is refused outright: listing it would hand the token to any admin client.
 */
const RuntimeApiKeys = v.record(
  v.pipe(
    v.string(),
    v.regex(ENV_NAME, "expected the name of an environment variable, like OPENAI_API_KEY"),
    v.check(
      (name) => name !== ENV_VARS.adminToken,
      `${ENV_VARS.adminToken} holds the admin token, which is never sent to a backend; remove it`
    )
  ),
  v.pipe(
    v.array(
      v.pipe(v.string(ORIGIN_EXPECTED), v.trim(), v.check(isHttpOrigin, ORIGIN_EXPECTED), v.transform((s) => new URL(s).origin)),
      `expected an array of origins, like ["https://api.openai.com"]`
    ),
    v.minLength(1, `expected at least one origin, like ["https://api.openai.com"]`)
  ),
  'expected a table of VARIABLE = ["https://origin"]'
)

const ALLOWED_HOST_EXPECTED = 'expected a host name, address or glob like "nexus.example.com" or "*.lan" (no scheme, no port), or "*" for any'

/** Names of this gateway beyond its own (see http/host-check.ts), kept as the Host header is compared. */
const allowedHost = v.pipe(
  v.string(ALLOWED_HOST_EXPECTED),
  v.trim(),
  v.toLowerCase(),
  v.transform((s) => s.replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "")),
  v.regex(/^[a-z0-9_.:*?%-]+$/, ALLOWED_HOST_EXPECTED),
  // One colon is a port (any port is accepted); IPv6 addresses have several.
  v.check((s) => s.split(":").length !== 2, ALLOWED_HOST_EXPECTED)
)

const ServerSchema = table(
  {
    host: v.optional(
      v.pipe(text("an address to bind"), v.check(isBindHost, BIND_HOST_EXPECTED)),
      "0.0.0.0"
    ),
    port: v.optional(int(1, 65535), 8000),
    request_timeout_seconds: v.optional(seconds(), 300),
    first_byte_timeout_seconds: v.optional(seconds(), 60),
    cold_first_byte_timeout_seconds: v.optional(seconds(), 180),
    max_body_bytes: v.optional(int(1024, 1024 ** 3), 10 * 1024 * 1024),
    sse_heartbeat_seconds: v.optional(seconds(), 5),
    max_frame_bytes: v.optional(int(1024, 1024 ** 3), 64 * 1024 * 1024),
    client_stall_seconds: v.optional(seconds(), 120),
    shutdown_timeout_seconds: v.optional(seconds(true), 30),
    max_event_subscribers: v.optional(int(1, 100_000), 64),
    // A short token is guessable. Messages never repeat its value (see parse.ts).
    admin_token: v.optional(
      v.pipe(
        v.string("expected a string"),
        v.trim(),
        v.minLength(8, "expected a token of at least 8 characters")
      )
    ),
    data_dir: v.optional(text("a directory path")),
    // No default: absent means no variable is allowed, and test fixtures that build a
    // [server] table by hand stay valid.
    runtime_api_keys: v.optional(RuntimeApiKeys),
    allowed_hosts: v.optional(v.array(allowedHost, "expected an array of host names or globs"), () => []),
  },
  "[server]"
)

/** `_llm._tcp.local.` and `_llm._tcp` name the same browse type; the short form is kept. */
const serviceType = v.pipe(
  v.string("expected a DNS-SD service type like _llm._tcp"),
  v.transform((s) => s.trim().toLowerCase().replace(/\.$/, "").replace(/\.local$/, "")),
  v.regex(/^_[a-z0-9-]+\._(?:tcp|udp)$/, "expected a DNS-SD service type like _llm._tcp")
)

const probeHost = v.pipe(
  v.string("expected a host or host:port"),
  v.trim(),
  v.check(isHostPort, "expected a host or host:port, like gpu-box.local or 192.168.1.50:11434 (no http://)")
)

/** Ollama, LM Studio, vLLM, llama.cpp/LocalAI/llamafile, exo. */
const DEFAULT_PROBE_PORTS = [11434, 1234, 8000, 8080, 52415] as const

const DiscoverySchema = table(
  {
    enabled: v.optional(bool, true),
    service_types: v.optional(v.array(serviceType, "expected an array of service types"), () => [
      "_ollama._tcp",
      "_llm._tcp",
    ]),
    grace_period_seconds: v.optional(seconds(true), 60),
    probe_hosts: v.optional(v.array(probeHost, "expected an array of hosts"), () => []),
    probe_ports: v.optional(v.array(int(1, 65535), "expected an array of ports"), () => [...DEFAULT_PROBE_PORTS]),
    probe_interval_seconds: v.optional(seconds(), 30),
    advertise: v.optional(bool, true),
  },
  "[discovery]"
)

const HealthSchema = table(
  {
    enabled: v.optional(bool, true),
    interval_seconds: v.optional(int(1, 86_400), 30),
    timeout_seconds: v.optional(seconds(), 5),
    failure_threshold: v.optional(int(1, 100), 3),
    recovery_threshold: v.optional(int(1, 100), 2),
  },
  "[health_check]"
)

/** Defaults of `[routing.weights]`; a partial table keeps these for the keys it leaves out. */
export const DEFAULT_WEIGHTS = {
  priority: 50,
  load: 30,
  latency: 20,
  warm: 10,
  errors: 10,
} as const

const weight = v.pipe(
  v.number("expected a number from 0 to 100"),
  v.minValue(0, "expected a number from 0 to 100"),
  v.maxValue(100, "expected a number from 0 to 100")
)

const WeightsSchema = table(
  {
    priority: v.optional(weight, DEFAULT_WEIGHTS.priority),
    load: v.optional(weight, DEFAULT_WEIGHTS.load),
    latency: v.optional(weight, DEFAULT_WEIGHTS.latency),
    warm: v.optional(weight, DEFAULT_WEIGHTS.warm),
    errors: v.optional(weight, DEFAULT_WEIGHTS.errors),
  },
  "[routing.weights]"
)

const BreakerSchema = table(
  {
    failure_threshold: v.optional(int(1, 1000), 5),
    cooldown_seconds: v.optional(seconds(), 30),
  },
  "[routing.circuit_breaker]"
)

const modelName = text("a model name")

const SessionsSchema = table(
  {
    enabled: v.optional(bool, true),
    max_entries: v.optional(int(1, 10_000_000), 10_000),
    idle_seconds: v.optional(seconds(), 1800),
    spill_margin: v.optional(
      v.pipe(v.number("expected a number from 0 to 1"), v.minValue(0, "expected a number from 0 to 1"), v.maxValue(1, "expected a number from 0 to 1")),
      0.15
    ),
  },
  "[routing.sessions]"
)

const RoutingSchema = table(
  {
    strategy: v.optional(oneOf(ROUTING_STRATEGIES), "smart"),
    max_retries: v.optional(int(0, 10), 2),
    weights: v.optional(WeightsSchema, {}),
    aliases: v.optional(
      v.record(v.string(), modelName, "expected a table of alias = model"),
      () => ({})
    ),
    fallbacks: v.optional(
      v.record(
        v.string(),
        v.array(modelName, "expected an array of model names"),
        "expected a table of model = [fallbacks]"
      ),
      () => ({})
    ),
    circuit_breaker: v.optional(BreakerSchema, {}),
    policies: v.optional(v.array(PolicySchema, "expected [[routing.policies]] tables"), () => []),
    budget: v.optional(BudgetSchema),
    sessions: v.optional(SessionsSchema, {}),
  },
  "[routing]"
)

const QueueSchema = table(
  {
    max_size: v.optional(int(0, 100_000), 100),
    max_wait_seconds: v.optional(seconds(), 30),
  },
  "[queue]"
)

const ResponsesSchema = table(
  {
    max_stored: v.optional(int(0, 10_000_000), 10_000),
    max_age_days: v.optional(v.pipe(v.number("expected a number of days > 0"), v.gtValue(0, "expected a number of days > 0")), 30),
  },
  "[responses]"
)

const LoggingSchema = table(
  {
    level: v.optional(oneOf(LOG_LEVELS), "info"),
    format: v.optional(oneOf(LOG_FORMATS), "pretty"),
  },
  "[logging]"
)

const RootFields = {
  server: v.optional(ServerSchema, {}),
  discovery: v.optional(DiscoverySchema, {}),
  health_check: v.optional(HealthSchema, {}),
  routing: v.optional(RoutingSchema, {}),
  backends: v.optional(v.array(BackendSchema, "expected [[backends]] tables"), () => []),
  queue: v.optional(QueueSchema, {}),
  responses: v.optional(ResponsesSchema, {}),
  fleet: v.optional(FleetSchema, {}),
  logging: v.optional(LoggingSchema, {}),
  auth: v.optional(AuthSchema, {}),
  state: v.optional(StateSchema, {}),
  pricing: v.optional(v.record(modelGlob, PriceSchema, 'expected tables like [pricing."gpt-4o*"]'), () => ({})),
}

/** The whole file. Its output is exactly `NexusConfig` (checked below at compile time). */
export const ConfigSchema = v.strictObject(RootFields, "expected a TOML document")

type Output = v.InferOutput<typeof ConfigSchema>
type MutuallyAssignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
/** `true` while the schema's output and `NexusConfig` agree; the next line fails otherwise. */
export type SchemaMatchesConfig = MutuallyAssignable<Output, NexusConfig>
const schemaMatchesConfig: SchemaMatchesConfig = true
void schemaMatchesConfig

/** The keys each strict table accepts, by table path without indexes, for "did you mean". */
export const TABLE_KEYS: Readonly<Record<string, readonly string[]>> = {
  "": Object.keys(RootFields),
  server: Object.keys(ServerSchema.entries),
  "server.runtime_api_keys": [],
  discovery: Object.keys(DiscoverySchema.entries),
  health_check: Object.keys(HealthSchema.entries),
  routing: Object.keys(RoutingSchema.entries),
  "routing.weights": Object.keys(WeightsSchema.entries),
  "routing.circuit_breaker": Object.keys(BreakerSchema.entries),
  "routing.policies": Object.keys(PolicySchema.entries),
  "routing.budget": Object.keys(BudgetSchema.entries),
  pricing: Object.keys(PriceSchema.entries),
  "routing.sessions": Object.keys(SessionsSchema.entries),
  backends: Object.keys(BackendFields.entries),
  "backends.models": Object.keys(ModelOverrideSchema.entries),
  queue: Object.keys(QueueSchema.entries),
  responses: Object.keys(ResponsesSchema.entries),
  fleet: Object.keys(FleetSchema.entries),
  "fleet.pins": Object.keys(PinSchema.entries),
  logging: Object.keys(LoggingSchema.entries),
  auth: Object.keys(AuthSchema.entries),
  state: Object.keys(StateSchema.entries),
}

/** What a required key must hold, for "missing required key" messages. */
export const REQUIRED_KEYS: Readonly<Record<string, string>> = {
  "backends.name": 'a unique name, like "gpu-server"',
  "backends.url": "the server's http:// or https:// URL",
  "routing.policies.model_pattern": 'a model name or glob, like "private-*"',
  "routing.budget.monthly_limit_usd": "the monthly limit in US dollars",
  get "backends.type"() {
    return `one of: ${BACKEND_TYPES.join(", ")}`
  },
  "backends.models.name": "the model's name as the backend reports it",
}

/**
 * Keys of the original Nexus that have no place here, with what to do instead. Checked
 * before "did you mean", which would otherwise suggest an unrelated key.
 */
export const RETIRED_KEYS: Readonly<Record<string, string>> = {
  "queue.enabled": "set `max_size = 0` to turn the queue off",
  "server.max_concurrent_requests": "set `max_concurrent` on each [[backends]] entry instead",
  "logging.enable_content_logging": "request and response content is never logged",
}

/**
 * Single keys, with the rule and message they have in the file, for the surfaces that take
 * one value at a time: NEXUS_* variables, `nexus serve` flags, other commands' flags. A
 * range or a list of choices is written once, above; see values.ts for reading text.
 */
export const FIELDS = {
  port: ServerSchema.entries.port.wrapped,
  host: ServerSchema.entries.host.wrapped,
  admin_token: ServerSchema.entries.admin_token.wrapped,
  enabled: DiscoverySchema.entries.enabled.wrapped,
  probe_port: DiscoverySchema.entries.probe_ports.wrapped.item,
  probe_interval_seconds: DiscoverySchema.entries.probe_interval_seconds.wrapped,
  log_level: LoggingSchema.entries.level.wrapped,
  log_format: LoggingSchema.entries.format.wrapped,
  backend_name: BackendFields.entries.name,
  backend_type: BackendFields.entries.type,
  priority: BackendFields.entries.priority.wrapped,
  api_key_env: BackendFields.entries.api_key_env.wrapped,
  max_concurrent: BackendFields.entries.max_concurrent.wrapped,
  zone: BackendFields.entries.zone.wrapped,
} as const
