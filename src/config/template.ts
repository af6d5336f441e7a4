/**
 * The file `nexus config init` writes: every key, its default, what is allowed and
 * why you would change it. It must load back unchanged (a test checks).
 * @module
 */

export const FULL_TEMPLATE = `# Nexus configuration. Every key is optional: the values shown are the defaults.
# Precedence: command-line flags > environment (NEXUS_*) > this file > defaults.
# Check a file with: nexus config validate --config nexus.toml

[server]
# Address to bind. "0.0.0.0" serves the whole LAN; "127.0.0.1" only this machine. (NEXUS_HOST)
host = "0.0.0.0"
# Port of the OpenAI-compatible API, 1-65535. (NEXUS_PORT)
port = 8000
# Whole budget for one request, all failover attempts included, in seconds.
request_timeout_seconds = 300
# How long a backend may take to start answering before Nexus tries the next one.
first_byte_timeout_seconds = 60
# The same allowance when the model is known not to be loaded yet (cold start).
cold_first_byte_timeout_seconds = 180
# Largest request body accepted, in bytes (413 above it).
max_body_bytes = 10485760
# In a stream, quiet time after which an SSE comment keeps proxies and clients from timing out.
sse_heartbeat_seconds = 5
# On SIGINT/SIGTERM, how long in-flight requests may take to finish.
shutdown_timeout_seconds = 30
# Token for state-changing admin endpoints; without one they accept loopback clients only.
# Prefer the NEXUS_ADMIN_TOKEN environment variable over writing it here.
# admin_token = "change-me-to-a-long-random-string"
# Where runtime state (backends added at run time) is kept. Default: per-OS state directory.
# data_dir = "/var/lib/nexus"

[discovery]
# Find backends by itself: probe well-known ports and browse mDNS. (NEXUS_DISCOVERY)
enabled = true
# DNS-SD types to browse on the LAN.
service_types = ["_ollama._tcp", "_llm._tcp"]
# A service that disappears from mDNS is removed after this many seconds.
grace_period_seconds = 60
# Other hosts to probe on the ports below, e.g. ["gpu-box.local", "192.168.1.50"].
probe_hosts = []
# Well-known ports: Ollama, LM Studio, vLLM, llama.cpp/LocalAI/llamafile, exo.
probe_ports = [11434, 1234, 8000, 8080, 52415]
# How often to probe again, so a server started later appears without a restart.
probe_interval_seconds = 30
# Advertise this Nexus on the LAN as _nexus._tcp.
advertise = true

[health_check]
# Probe every backend periodically. (NEXUS_HEALTH_CHECK)
enabled = true
interval_seconds = 30
# A probe slower than this counts as a failure.
timeout_seconds = 5
# Consecutive failed probes before a healthy backend is taken out.
failure_threshold = 3
# Consecutive good probes before an unhealthy backend is used again.
recovery_threshold = 2

[routing]
# smart | round_robin | priority_only | random | least_busy
strategy = "smart"
# Further attempts on other backends when one fails before answering (0-10), per model.
max_retries = 2

[routing.weights]
# How "smart" weighs its signals (0-100 each; only their proportions matter).
priority = 50   # the backend's priority (lower number = preferred)
load = 30       # requests in flight relative to max_concurrent
latency = 20    # time to first token measured on real requests
warm = 10       # the model is already loaded on that backend
errors = 10     # recent failure rate

[routing.circuit_breaker]
# Consecutive failures that take a backend out of rotation...
failure_threshold = 5
# ...for this long, after which one trial request decides.
cooldown_seconds = 30

[routing.aliases]
# Names clients use -> models your backends serve (up to 3 hops; cycles are rejected).
# "gpt-4o-mini" = "llama3.2:latest"
# "claude-sonnet-4-5" = "qwen2.5-coder:32b"

[routing.fallbacks]
# Tried in order when a model has no healthy backend, or every attempt on it failed.
# "llama3.1:70b" = ["llama3.1:8b", "llama3.2:latest"]

[queue]
# When every capable backend is at max_concurrent, requests wait here (0 disables).
max_size = 100
# Longest wait before a 503 with Retry-After.
max_wait_seconds = 30

[logging]
# silent | error | warn | info | debug | trace (NEXUS_LOG_LEVEL)
level = "info"
# pretty for people, json for journald and log shippers. (NEXUS_LOG_FORMAT)
format = "pretty"

# Backends. Each [[backends]] table is one server; more are found by discovery.
# type: ollama | vllm | llamacpp | lmstudio | exo | localai | llamafile | openai (any
# OpenAI-compatible API). The URL has no /v1 suffix.
#
# [[backends]]
# name = "local-ollama"             # unique; shown in X-Nexus-Backend and metrics
# url = "http://localhost:11434"
# type = "ollama"
# priority = 1                      # lower is preferred (default 50)
# zone = "restricted"               # restricted (local data) | open (cloud)
# tier = 1                          # capability tier 1-5
# max_concurrent = 4                # requests at once; more wait in the queue
# timeout_seconds = 120             # overrides first_byte_timeout_seconds for it
#
# [[backends.models]]               # correct what the server reports about a model
# name = "llama3.2:latest"
# context_length = 8192
# vision = false
# tools = true
#
# [[backends]]
# name = "gpu-server"
# url = "http://192.168.1.100:8000"
# type = "vllm"
# priority = 2
#
# [[backends]]
# name = "openai"
# url = "https://api.openai.com"
# type = "openai"
# priority = 90
# api_key_env = "OPENAI_API_KEY"    # the key comes from this environment variable, never from this file
`

export const MINIMAL_TEMPLATE = `# Nexus configuration (minimal). Run \`nexus config init\` without --minimal for every key.

[server]
host = "0.0.0.0"
port = 8000

# Nexus finds local servers by itself; list the ones it cannot find here.
# [[backends]]
# name = "gpu-server"
# url = "http://192.168.1.100:8000"
# type = "vllm"      # ollama | vllm | llamacpp | lmstudio | exo | localai | llamafile | openai
# priority = 1
`
