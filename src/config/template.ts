/**
 * The files `nexus config init` writes. The full one documents every key with its
 * default, what is allowed and why you would change it; loaded as written it equals the
 * defaults, and its commented-out examples load too once uncommented (tests check both).
 * @module
 */
import { backendTypes } from "../core/locality.ts"

/** The backend types as the template's comments list them. */
const TYPES = backendTypes().join(" | ")

/** Every key, documented; the values shown are the defaults. */
export const FULL_TEMPLATE = `# Nexus configuration. Every key is optional: the values shown are the defaults,
# so you can delete whatever you do not change. Unknown keys are errors (typos show up).
#
# Precedence: command-line flags > environment variables (NEXUS_*) > this file > defaults.
# Check this file and see the effective settings: nexus config validate --config nexus.toml
# Enum values are case-insensitive ("Smart" and "smart" are the same).

[server]
# Address to bind: "0.0.0.0" serves the LAN, "127.0.0.1" this machine only. (NEXUS_HOST, --host)
host = "0.0.0.0"
# Port of the OpenAI-compatible API, 1-65535. (NEXUS_PORT, --port)
port = 8000
# Budget for one request, every failover attempt included, in seconds (> 0).
request_timeout_seconds = 300
# How long a backend may take to send response headers before the next one is tried (> 0).
first_byte_timeout_seconds = 60
# The same allowance when the model is not loaded yet, since loading takes a while (> 0).
cold_first_byte_timeout_seconds = 180
# Largest request body accepted, in bytes (1024 to 1073741824); larger ones get a 413.
max_body_bytes = 10485760
# Quiet time in a stream after which a comment keeps proxies from closing it, in seconds (> 0).
sse_heartbeat_seconds = 5
# Largest single event (a base64 image, big tool arguments) a backend may send in a stream,
# in bytes (1024 to 1073741824); a larger one ends the answer with an error event.
max_frame_bytes = 67108864
# A client that reads nothing of its answer for this long has stopped reading: its backend
# request is aborted and its slot freed, in seconds (> 0).
client_stall_seconds = 120
# On SIGINT/SIGTERM, how long in-flight requests may take to finish, in seconds (>= 0).
shutdown_timeout_seconds = 30
# Clients of the live event stream (/v1/events, the dashboard) connected at once, 1-100000;
# one more gets a 503. A client that stops reading is dropped once 256 KiB behind.
max_event_subscribers = 64
# Token (8+ characters) for state-changing admin endpoints; without one they accept
# loopback clients only. Prefer the NEXUS_ADMIN_TOKEN environment variable to this file.
# admin_token = "change-me-to-a-long-random-string"
# Where state is kept: backends added at run time and month-to-date spend (nexus.sqlite,
# written once there is something to keep), the mDNS host name. Default: a per-OS state
# directory. (NEXUS_DATA_DIR)
# data_dir = "/var/lib/nexus"
# Host names (or globs like "*.lan") the Host header may give this gateway, besides loopback,
# this machine's names and addresses and host above: the names a reverse proxy or a DNS
# alias uses. Other Host values get a 421 (a DNS-rebinding web page sends its own). "*": any.
allowed_hosts = []
# Keys for backends added at run time (POST /v1/backends, nexus backends add). Their
# api_key_env may name only a variable listed here, and its value is sent only to the
# origins listed with it (scheme://host[:port], no path). Absent: such backends get no key.
# NEXUS_ADMIN_TOKEN can never be listed. [[backends]] in this file are not limited by it.
# [server.runtime_api_keys]
# OPENAI_API_KEY = ["https://api.openai.com"]

[discovery]
# Find backends without listing them: probe well-known ports and browse mDNS. (NEXUS_DISCOVERY, --no-discovery)
enabled = true
# DNS-SD service types to browse on the LAN (nexus advertise publishes _llm._tcp); a ".local"
# suffix is accepted and dropped. [] browses nothing.
service_types = ["_ollama._tcp", "_llm._tcp"]
# A service that withdraws from mDNS leaves rotation at once and is forgotten after this many
# seconds unless it is advertised again, when it is routable at once (>= 0).
grace_period_seconds = 60
# More machines to probe on the ports below: "host" or "host:port", e.g. ["gpu-box.local", "192.168.1.50:11434"].
probe_hosts = []
# Well-known ports probed on localhost and probe_hosts: Ollama, LM Studio, vLLM,
# llama.cpp/LocalAI/llamafile, exo (1-65535 each). [] turns probing off.
probe_ports = [11434, 1234, 8000, 8080, 52415]
# How often to probe again, so a server started later appears without a restart, in seconds (> 0).
probe_interval_seconds = 30
# Announce this Nexus on the LAN (_nexus._tcp) so other machines and CLIs can find it.
advertise = true

[health_check]
# Probe every backend periodically; unhealthy ones get no traffic. (NEXUS_HEALTH_CHECK, --no-health-check)
enabled = true
# Seconds between probes of one backend (whole seconds, >= 1).
interval_seconds = 30
# A probe slower than this counts as failed, in seconds (> 0).
timeout_seconds = 5
# Consecutive failed probes before a healthy backend is taken out (1-100).
failure_threshold = 3
# Consecutive good probes before an unhealthy backend is used again (1-100).
recovery_threshold = 2

[routing]
# How the backend for a request is chosen:
#   smart (score by the weights below) | round_robin | priority_only | random | least_busy
strategy = "smart"
# Further attempts on other backends when one fails before answering (0-10).
max_retries = 2

[routing.weights]
# How "smart" ranks backends, each 0-100. priority + load + latency must add up to 100;
# warm and errors are extra signals on the same scale. Leave a key out to keep its default.
priority = 50   # the backend's priority (lower number = preferred)
load = 30       # requests in flight relative to max_concurrent
latency = 20    # time to first token measured on real requests
warm = 10       # the model is already loaded there, so no cold start
errors = 10     # recent failure rate

[routing.circuit_breaker]
# Consecutive failures that take a backend out of rotation (1-1000)...
failure_threshold = 5
# ...for this many seconds, after which one trial request decides (> 0).
cooldown_seconds = 30

[routing.sessions]
# Sticky sessions: a conversation (X-Nexus-Session, Claude Code's session id, Codex's
# session-id or prompt_cache_key, OpenAI's prompt_cache_key or user, else a hash of the
# system prompt and first user message) goes back to the backend that served it last,
# whose prompt cache already holds its long prefix, while that backend is healthy, below
# max_concurrent and within spill_margin of the best score (X-Nexus-Route-Reason:
# session_affinity).
enabled = true
# Conversations remembered at once; the least recently used are forgotten first.
max_entries = 10000
# A conversation idle this long (seconds, > 0) is forgotten.
idle_seconds = 1800
# How far below the best backend's score (0-1) the session's backend may fall and keep it.
spill_margin = 0.15

[routing.aliases]
# Names clients ask for -> models your backends serve. Chains are followed up to 3 hops;
# cycles are rejected. Clients written for one API then work unchanged.
# Keys may be globs (* any characters, ? one): an exact key wins over every glob, then
# the first matching glob in this file; a glob never hides a model a backend serves.
# Names are blind to case and :latest, keys too (FAST finds "fast").
# "gpt-4o-mini" = "llama3.2:latest"
# Coding agents ask for their own model ids; point them at a local coder model:
# "claude-haiku-*" = "qwen2.5-coder:7b"      # Claude Code's small/fast model
# "claude-*" = "qwen2.5-coder:32b"           # Claude Code (claude -p, ANTHROPIC_BASE_URL)
# "gpt-5*" = "qwen2.5-coder:32b"             # Codex CLI (wire_api = "responses")
# "codex-*" = "qwen2.5-coder:32b"

[routing.fallbacks]
# Models tried in order when a model has no healthy backend or every attempt on it failed.
# A key covers every spelling of its model (any case, x and x:latest alike) and its aliases.
# "llama3.1:70b" = ["llama3.1:8b", "llama3.2:latest"]

# Privacy and quality rules by model name; the first policy whose model_pattern (a glob,
# any case; x and x:latest alike) matches the model as routing resolves it (after
# aliases) or as asked applies, and a fallback model brings its own policy.
# A restricted privacy setting means the request never leaves your hardware (never an
# open-zone backend: not first, not as fallback, failover, after queueing or a reload).
# With min_tier, backends below this capability tier never serve it, whatever the client
# sends (X-Nexus-Min-Tier may only raise it). Without policies nothing is filtered.
# [[routing.policies]]
# model_pattern = "private-*"       # glob: * any run of characters, ? one character
# privacy = "restricted"            # restricted | unrestricted (default)
# min_tier = 3                      # 1-5 (default: the tier of the best backend serving the model)

# A monthly limit on cloud spend, counted from the usage backends report and kept in the
# data directory (a restart never resets it; the month rolls over at 00:00 UTC on the 1st).
# [routing.budget]
# monthly_limit_usd = 50            # US dollars, >= 0
# soft_limit_percent = 75           # from here on, cloud only when nothing local can serve
# hard_limit_action = "block_cloud" # at 100%: warn | block_cloud | block_all (default block_cloud)
# on_ledger_error = "closed"        # ledger unreadable at start: closed keeps cloud blocked until it
#                                   # can be read; open allows cloud, counting spend from $0 meanwhile

# Prices in US dollars per million tokens, by model glob, checked before the built-in
# table of OpenAI, Anthropic and Gemini prices. Local backends cost nothing.
# [pricing."my-proxy-model*"]
# input_per_million = 0.5
# output_per_million = 1.5

[queue]
# When every capable backend is at max_concurrent, up to this many requests wait (0-100000;
# 0 turns the queue off and answers 503 at once).
max_size = 100
# Longest wait in the queue before a 503 with Retry-After, in seconds (> 0).
max_wait_seconds = 30

[responses]
# Responses API answers Nexus translated (for servers without /v1/responses) are kept in
# the state file, so clients can continue them (previous_response_id) and read them back
# (GET /v1/responses/{id}), unless the request said store: false. At most this many are
# kept (0-10000000; 0 keeps none), the oldest forgotten first...
max_stored = 10000
# ...and each for this many days (> 0).
max_age_days = 30
[fleet]
# Servers that load and unload models (Ollama, LM Studio, llama.cpp in router mode): a
# model cold everywhere is placed where loading it evicts nothing in use, and concurrent
# requests for it wait for that one load. vLLM and a llama.cpp server started with one
# model serve their model always loaded. Load, unload and pin: nexus models load|unload|pin.
# false turns all of it off (placement, load coordination, pins, auto): a plain gateway.
enabled = true
# Tell streaming clients in the reasoning channel that their model is loading ("loading
# qwen3-coder:30b on gpu-box (≈12 s)").
loading_status = false
# Act on its own: load a model a few minutes before its usual demand (requests by hour of
# the week, kept in the state file) where it fits without evicting anything in use, and a
# second copy on a box with room when a model's queue keeps growing. nexus fleet plan
# (GET /v1/fleet/plan) tells what it would do next and why, on or off.
auto = false
# How early a model is loaded before its usual demand, minutes (0-60; 0: never).
prewarm_minutes = 5
# A second copy auto loaded is unloaded after this many minutes without requests (1-10080).
idle_unload_minutes = 15

# Models kept loaded on a backend (never unloaded by Nexus, loaded again if the server
# drops them): always, or on some days between two local times ("HH:MM"; a window whose
# to is before its from runs past midnight, one whose to equals its from lasts 24 hours).
# [[fleet.pins]]
# model = "qwen3-coder:30b"                    # or an alias: resolved as requests are
# backend = "gpu-box"
# days = ["mon", "tue", "wed", "thu", "fri"]   # sun..sat, at least one (default: every day)
# from = "08:00"                               # default 00:00
# to = "18:00"                                 # default 24:00

[logging]
# silent | error | warn | info | debug | trace (NEXUS_LOG_LEVEL, --log-level)
level = "info"
# pretty for people, json for journald and log shippers. (NEXUS_LOG_FORMAT, --log-format)
format = "pretty"

[auth]
# Client API keys (nexus keys create --name alice). true: every inference route (/v1/* but
# the admin API and /v1/stats, the Anthropic and Ollama routes, /v1/nexus/route) needs
# Authorization: Bearer nx-... (or x-api-key); keys carry their own models, privacy, rate
# limits and monthly spend cap. false: no key is asked for or checked.
required = false
# /health and /metrics answer without a key (false: they need one too, when required).
public_health = true
public_metrics = true

[state]
# Several instances behind one address share month-to-date spend, API keys and their rate
# limits, backends added at run time, drained flags and sticky sessions through one Redis
# or Valkey server (redis:// or rediss:// for TLS). Without url, each instance keeps its
# own in its state file. Changes take effect after a restart.
# url = "redis://127.0.0.1:6379/0"
# password_env = "NEXUS_REDIS_PASSWORD"   # the NAME of the variable holding the password
# While the server cannot be reached: "open" keeps serving from what each instance last
# knew (spend is sent when it returns); "closed" refuses API keys and cloud backends.
on_unavailable = "open"

# Backends. Each [[backends]] table is one server; discovery finds more by itself.
# Uncomment and adapt. name, url and type are required; the rest shows the defaults
# or an example.
#
# [[backends]]
# name = "local-ollama"             # unique; shown in the X-Nexus-Backend header and metrics
# url = "http://localhost:11434"    # http:// or https://, without a /v1 suffix
# type = "ollama"                   # ${TYPES}
# priority = 1                      # lower is preferred, may be negative (default 50)
# zone = "restricted"               # restricted (data stays local) | open (cloud); default: open for the cloud types, else restricted
# tier = 1                          # capability tier 1-5, higher is more capable (default 1)
# max_concurrent = 4                # requests at once; more wait in [queue] (default: no limit)
# timeout_seconds = 120             # this backend's first-byte timeout (default: the [server] one)
# memory_gb = 24                    # memory for models on this box: where cold models fit (default: unlimited)
#
# [[backends.models]]               # correct what the server reports about one of its models
# name = "llama3.2:latest"          # required: the model's name as the backend lists it
# context_length = 131072           # tokens; longer prompts go elsewhere
# vision = false                    # accepts images
# tools = true                      # supports tool calls
# json_mode = true                  # supports response_format json_object
# embeddings = false                # serves /v1/embeddings
#
# [[backends]]
# name = "gpu-server"
# url = "http://192.168.1.100:8000"
# type = "vllm"
# priority = 2
#
# [[backends]]
# name = "openai"
# url = "https://api.openai.com"    # cloud types have a default url; set one for a proxy
# type = "openai"                   # the OpenAI API (on a LAN address without a key: generic)
# priority = 90
# tier = 5
# api_key_env = "OPENAI_API_KEY"    # the NAME of the variable holding the key; never put the key here
# models = ["gpt-4o-mini", "gpt-4o"] # globs: the only models served from this account (default: all)
#
# [[backends]]
# name = "claude"
# type = "anthropic"                # Messages API; OpenAI requests are translated (default url https://api.anthropic.com)
# priority = 90
# tier = 5
# api_key_env = "ANTHROPIC_API_KEY"
# models = ["claude-*"]
#
# [[backends]]
# name = "gemini"
# type = "google"                   # Gemini's OpenAI-compatible endpoint (default url https://generativelanguage.googleapis.com)
# priority = 90
# api_key_env = "GEMINI_API_KEY"
`

/** A short file: the server section and one backend example. */
export const MINIMAL_TEMPLATE = `# Nexus configuration (minimal). \`nexus config init\` without --minimal writes every key, documented.
# Precedence: flags > environment (NEXUS_*) > this file > defaults.

[server]
host = "0.0.0.0"   # "127.0.0.1" to serve this machine only
port = 8000

# Nexus finds local servers by itself; list the ones it cannot find.
# [[backends]]
# name = "gpu-server"
# url = "http://192.168.1.100:8000"
# type = "vllm"    # ${TYPES}
# priority = 1     # lower is preferred
`
