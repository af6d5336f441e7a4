/**
 * The mutations `scripts/mutate.ts` applies, one at a time: small realistic bugs (a
 * flipped comparison, a dropped branch, an off-by-one, a wrong field), each with the test
 * files that must notice it. `find` must occur exactly once in `file`; `filter` narrows
 * the run to matching test names (bun test -t) to keep each trial short.
 */
export interface Mutation {
  file: string
  find: string
  replace: string
  /** Test files that cover this code, relative to the repository root. */
  tests: string[]
  filter?: string
  what: string
}

const U = "tests/unit/"
const I = "tests/integration/"

export const MUTATIONS: Mutation[] = [
  // core
  { file: "src/core/backend.ts", find: "b.stats.inFlight >= b.maxConcurrent", replace: "b.stats.inFlight > b.maxConcurrent", tests: [`${I}capacity.test.ts`], filter: "max_concurrent", what: "capacity off by one (one slot too many)" },
  { file: "src/core/anthropic-usage.ts", find: "+ (written ?? 0) + (read ?? 0)", replace: "+ (written ?? 0)", tests: [`${I}anthropic-cache-usage.test.ts`], what: "Anthropic cache reads dropped from the prompt count" },
  { file: "src/core/anthropic-usage.ts", find: "const read = Math.min(cached, prompt)", replace: "const read = cached", tests: [`${U}anthropic-translate.test.ts`], what: "cache reads not capped by the prompt (negative input_tokens)" },
  { file: "src/core/output-budget.ts", find: "if (promptTokens + maxTokens <= contextLength) return undefined", replace: "if (maxTokens <= contextLength) return undefined", tests: [`${I}agents-local.test.ts`], filter: "output budget", what: "output budget checked without the prompt" },
  { file: "src/core/model-name.ts", find: "return last.includes(\":\") || !last ? [name] : [name, `${name}:latest`]", replace: "return [name]", tests: [`${I}model-names.test.ts`, `${I}model-lookup.test.ts`], what: "a bare name no longer finds its :latest" },
  { file: "src/core/locality.ts", find: "(a === 172 && b >= 16 && b <= 31)", replace: "(a === 172 && b >= 16 && b < 31)", tests: [`${U}locality.test.ts`], what: "172.31.x.x no longer private (off by one)" },
  { file: "src/core/usage.ts", find: "(u.input_tokens !== undefined || u.output_tokens !== undefined)", replace: "u.input_tokens !== undefined", tests: [`${I}anthropic-cache-usage.test.ts`], what: "an Anthropic message_delta's output count not read" },

  // config
  { file: "src/config/errors.ts", find: "return bestScore <= Math.min(3, Math.max(1, k.length - 1)) ? best : undefined", replace: "return bestScore <= Math.min(2, Math.max(1, k.length - 1)) ? best : undefined", tests: [`${U}config-errors.test.ts`], what: "typo suggestions limited to 2 edits (doc: 3)" },
  { file: "src/config/errors.ts", find: "const prefix = k.length >= 3 && (c.startsWith(k) || k.startsWith(c))", replace: "const prefix = k.length >= 3 && c.startsWith(k)", tests: [`${U}config-errors.test.ts`], what: "a key longer than the valid one (a prefix the other way) gets no suggestion" },
  { file: "src/config/errors.ts", find: "diagonal + (a[i - 1] === b[j - 1] ? 0 : 1)", replace: "diagonal + (a[i - 1] === b[j - 1] ? 0 : 2)", tests: [`${U}config-errors.test.ts`], what: "substitution counted as two edits" },

  // registry
  { file: "src/registry/diff.ts", find: "const removed = prev.backends.filter((b) => !after.has(b.name)).map((b) => b.name)", replace: "const removed: string[] = []", tests: [`${I}admin.test.ts`], filter: "reload", what: "reload never removes a backend" },
  { file: "src/registry/registry.ts", find: "      if (s.failed) stats.errors++\n", replace: "", tests: [`${I}bad-answers.test.ts`, `${I}telemetry.test.ts`, `${I}dashboard.test.ts`], what: "failed attempts not counted in backend errors" },
  { file: "src/registry/server-key.ts", find: "const port = u.port || (u.protocol === \"https:\" ? \"443\" : \"80\")", replace: "const port = u.port || \"80\"", tests: [`${I}admin-input.test.ts`], filter: "default port", what: "https default port taken as 80 (same server seen twice)" },

  // routing
  { file: "src/routing/breaker.ts", find: "if (e.state === \"half_open\" || e.failures >= cfg.failure_threshold) {", replace: "if (e.state === \"half_open\" || e.failures > cfg.failure_threshold) {", tests: [`${U}breaker-queue.test.ts`], what: "breaker opens one failure late" },
  { file: "src/routing/queue.ts", find: "if (high.length + normal.length >= config().max_size) return Promise.reject(new QueueError(\"full\"))", replace: "if (high.length + normal.length > config().max_size) return Promise.reject(new QueueError(\"full\"))", tests: [`${U}breaker-queue.test.ts`, `${I}resilience.test.ts`], what: "queue holds one more than max_size" },
  { file: "src/routing/score.ts", find: "return candidates.map((backend) => ({ backend, score: -backend.priority })).sort((a, b) => b.score - a.score)", replace: "return candidates.map((backend) => ({ backend, score: backend.priority })).sort((a, b) => b.score - a.score)", tests: [`${U}router.test.ts`], what: "priority strategy prefers the highest number" },
  { file: "src/routing/score.ts", find: "return candidates.map((_, i) => ({ backend: candidates[(start + i) % n]!, score: 0 }))", replace: "return candidates.map((_, i) => ({ backend: candidates[i]!, score: 0 }))", tests: [`${U}router.test.ts`], what: "round robin never rotates" },
  { file: "src/routing/router.ts", find: "waitable: excluded.some((e) => e.kind === \"capacity\")", replace: "waitable: false", tests: [`${I}capacity.test.ts`, `${I}resilience.test.ts`, `${U}router.test.ts`], filter: "max_concurrent|queue|capacity", what: "a request at capacity is refused instead of queued" },

  // policy
  { file: "src/policy/budget.ts", find: "const state: BudgetState = committed >= limit ? \"hard_limit\"", replace: "const state: BudgetState = committed > limit ? \"hard_limit\"", tests: [`${I}budget.test.ts`, `${I}budget-property.test.ts`], what: "hard limit reached only past the limit" },
  { file: "src/policy/budget.ts", find: "const local = registry.backendsFor(model).some((o) => !isCloud(o) && isRoutable(o))", replace: "const local = registry.backendsFor(model).some((o) => !isCloud(o))", tests: [`${I}budget.test.ts`, `${I}budget-property.test.ts`], what: "soft limit counts an unhealthy local backend as serving" },
  { file: "src/policy/tier.ts", find: "          if (b.tier >= min) return undefined\n", replace: "          if (b.tier > min) return undefined\n", tests: [`${I}privacy-tier.test.ts`, `${I}privacy-resolved.test.ts`], what: "a backend exactly at the required tier excluded" },
  { file: "src/policy/privacy-zone.ts", find: "      if (d.restricted) {\n        input.restricted = true", replace: "      if (d.restricted && !input.headers) {\n        input.restricted = true", tests: [`${I}privacy-tier.test.ts`, `${I}privacy-property.test.ts`], what: "restricted requests not kept off the open zone" },

  // egress
  { file: "src/core/anthropic-usage.ts", find: "  tool_use: \"tool_calls\",\n", replace: "", tests: [`${U}anthropic-translate.test.ts`, `${I}cloud-backends.test.ts`], what: "Anthropic tool_use stop reason not mapped to tool_calls" },
  { file: "src/egress/providers/anthropic.ts", find: "...(key ? { \"x-api-key\": key } : {})", replace: "...(key ? { authorization: `Bearer ${key}` } : {})", tests: [`${I}cloud-backends.test.ts`, `${I}cloud-keys.test.ts`], what: "Anthropic key sent in the wrong header" },
  { file: "src/egress/providers/vllm.ts", find: "if (model) model.contextLength = positiveInt(entry.max_model_len)", replace: "if (model) model.contextLength = undefined", tests: [`${I}adapters.test.ts`, `${I}model-lookup.test.ts`], what: "vLLM max_model_len ignored" },
  { file: "src/egress/providers/ollama.ts", find: "    tools: has(\"tools\"),\n", replace: "    tools: undefined,\n", tests: [`${I}adapters.test.ts`], filter: "Ollama", what: "Ollama tools capability dropped" },
  { file: "src/egress/transport/sse.ts", find: "      if (event.includes('\"usage\"')) this.observeJson(eventData(event) ?? \"\", true)\n", replace: "", tests: [`${I}anthropic-cache-usage.test.ts`], what: "usage in named events (Anthropic streams) not observed" },
  { file: "src/egress/transport/sse.ts", find: "    this.observe(doc as Record<string, unknown>)\n", replace: "", tests: [`${U}translated-stream.test.ts`, `${I}anthropic-cache-usage.test.ts`], what: "a translated stream's usage not counted from the chunk it renders" },
  { file: "src/core/usage.ts", find: "  if (usage === undefined && b.done === true) return fromOllamaCounts(b)\n", replace: "", tests: [`${I}ollama-usage.test.ts`], what: "an Ollama server's own counts not read" },

  // ingress
  { file: "src/ingress/openai/requirements.ts", find: "if (p.type === \"image_url\" || p.type === \"input_image\" || p.type === \"image\") vision = true", replace: "if (p.type === \"input_image\" || p.type === \"image\") vision = true", tests: [`${I}gateway.test.ts`, `${U}router.test.ts`, `${I}model-lookup.test.ts`], what: "an image_url part does not require vision" },
  { file: "src/ingress/openai/requirements.ts", find: "const tools = Array.isArray(body.tools) && body.tools.length > 0", replace: "const tools = Array.isArray(body.tools) && body.tools.length > 1", tests: [`${I}adapters.test.ts`, `${I}resilience.test.ts`], filter: "tool", what: "one tool does not require tool support (off by one)" },
  { file: "src/core/anthropic-usage.ts", find: "  if (finish === \"length\") return \"max_tokens\"\n", replace: "", tests: [`${U}anthropic-translate.test.ts`, `${U}dialects.test.ts`, `${I}dialect-streams.test.ts`], what: "length finish not told as max_tokens to Anthropic clients" },
  { file: "src/core/ollama-usage.ts", find: "export const doneReason = (finish: string | null) => (finish === \"length\" ? \"length\" : \"stop\")", replace: "export const doneReason = (finish: string | null) => \"stop\"", tests: [`${U}dialects.test.ts`, `${I}dialect-streams.test.ts`], what: "Ollama clients never told done_reason length" },

  // http
  { file: "src/ingress/accept.ts", find: "return html > 0 && html >= quality(accept, \"application/json\")", replace: "return html > 0 && html > quality(accept, \"application/json\")", tests: [`${I}dashboard.test.ts`], filter: "Accept|browser", what: "a browser's equal-quality Accept no longer gets HTML" },
  { file: "src/http/health.ts", find: "const all = backends.length > 0 && healthy === backends.length ? \"healthy\" : healthy > 0 ? \"degraded\" : \"unhealthy\"", replace: "const all = healthy > 0 ? \"healthy\" : \"unhealthy\"", tests: [`${I}gateway.test.ts`, `${I}resilience.test.ts`, `${I}telemetry.test.ts`], what: "/health never says degraded" },
  { file: "src/ingress/catalog.ts", find: "context_length: contexts.length ? Math.max(...contexts) : null", replace: "context_length: contexts.length ? Math.min(...contexts) : null", tests: [`${I}model-list-stats.test.ts`], what: "model list shows the smallest context of its backends" },
  { file: "src/ingress/catalog.ts", find: "    if (b.status !== \"healthy\") continue\n", replace: "", tests: [`${I}model-list-stats.test.ts`], what: "unhealthy backends' models listed" },

  // observability
  { file: "src/observability/record.ts", find: "    for (const f of r.failures) metrics.failovers.inc({ backend: f.backend })\n", replace: "", tests: [`${I}bad-answers.test.ts`], what: "nexus_failovers_total never incremented" },
  { file: "src/observability/record.ts", find: "    if (r.fallbackFrom) metrics.fallbacks.inc({ from_model: r.fallbackFrom, to_model: model })\n", replace: "", tests: [`${I}resilience.test.ts`], filter: "fallback", what: "nexus_fallbacks_total never incremented" },
  { file: "src/observability/record.ts", find: "if (completion > 0) metrics.tokens.at(model, backend, \"completion\").value += completion", replace: "if (completion > 0) metrics.tokens.at(model, backend, \"prompt\").value += completion", tests: [`${I}telemetry.test.ts`, `${U}metrics.test.ts`], what: "completion tokens counted as prompt" },
  { file: "src/observability/stats.ts", find: "      if (!ok) m.errors++\n", replace: "", tests: [`${I}model-list-stats.test.ts`, `${I}telemetry.test.ts`], what: "per-model error count never grows" },
  { file: "src/observability/cost.ts", find: "if (!r.backend || !r.model || r.status >= 400) return undefined", replace: "if (!r.backend || !r.model || r.status > 400) return undefined", tests: [`${I}budget.test.ts`], what: "a 400 answer is charged" },

  // persist
  { file: "src/persist/store.ts", find: "if (env.NEXUS_DATA_DIR) return env.NEXUS_DATA_DIR", replace: "if (configured) return configured", tests: [`${I}state-file.test.ts`, `${I}serve-cli.test.ts`], what: "NEXUS_DATA_DIR no longer beats the config" },
  { file: "src/persist/ledger.ts", find: "for (const u of unsaved.values()) if (u.month === cached.month) cached.fileUsd += u.usd", replace: "for (const u of unsaved.values()) if (u.month !== cached.month) cached.fileUsd += u.usd", tests: [`${I}budget-failsafe.test.ts`, `${I}budget.test.ts`], what: "spend not yet saved is left out of this month" },
  { file: "src/persist/store.ts", find: "      if (db) ready(db).remove.run(id)\n", replace: "", tests: [`${I}admin.test.ts`, `${I}state-file.test.ts`], what: "a removed backend comes back after a restart" },

  // discovery
  { file: "src/discovery/fingerprint.ts", find: "  if (owners.includes(\"vllm\")) return \"vllm\"\n", replace: "", tests: [`${I}adapters.test.ts`], filter: "fingerprinting", what: "vLLM no longer known by owned_by" },
  { file: "src/discovery/fingerprint.ts", find: "return isObject(health?.json) && \"slots_idle\" in health.json ? \"llamafile\" : \"llamacpp\"", replace: "return \"llamacpp\"", tests: [`${I}adapters.test.ts`], filter: "fingerprinting", what: "legacy llamafile taken for llama.cpp" },
  { file: "src/discovery/fingerprint.ts", find: "if (models?.headers.get(\"x-nexus-version\")) return { type: \"openai\", nexus: true }", replace: "if (models?.headers.get(\"x-nexus-version\") && root?.status === 599) return { type: \"openai\", nexus: true }", tests: [`${I}adapters.test.ts`], filter: "fingerprinting", what: "another Nexus not recognised (discovery would loop through it)" },

  // health
  { file: "src/health/checker.ts", find: "if (current === \"healthy\") return track.failures >= cfg.failure_threshold ? \"unhealthy\" : current", replace: "if (current === \"healthy\") return track.failures > cfg.failure_threshold ? \"unhealthy\" : current", tests: [`${I}resilience.test.ts`, `${I}telemetry.test.ts`], what: "a backend marked unhealthy one failure late" },
  { file: "src/health/checker.ts", find: "if (current === \"unhealthy\") return track.successes >= cfg.recovery_threshold ? \"healthy\" : current", replace: "if (current === \"unhealthy\") return \"healthy\"", tests: [`${I}resilience.test.ts`, `${I}telemetry.test.ts`], what: "recovery_threshold ignored" },
  { file: "src/health/checker.ts", find: "    if (o.vision !== undefined) caps.vision = o.vision\n", replace: "", tests: [`${I}adapters.test.ts`], filter: "overrides", what: "a vision override in [[backends.models]] ignored" },

  // app
  { file: "src/app/reload.ts", find: "return diff.settings.some((k) => k === table || k.startsWith(`${table}.`))", replace: "return diff.settings.some((k) => k === table)", tests: [`${I}mdns.test.ts`, `${I}gateway.test.ts`], filter: "reload", what: "a change inside [discovery] not seen by its consumer" },
  { file: "src/app/gateway.ts", find: "consumers: [(diff) => manager.applyConfig(diff), () => queue.changed(), (diff, next) => discovery.onReload(diff, next)]", replace: "consumers: [() => queue.changed(), (diff, next) => discovery.onReload(diff, next)]", tests: [`${I}admin.test.ts`], filter: "reload", what: "reload does not apply backend changes" },

  // cli
  { file: "src/cli/models.ts", find: "const models = args.backend ? data.filter((m) => m.backends.includes(args.backend!)) : data", replace: "const models = data", tests: [`${I}cli-commands.test.ts`], what: "nexus models --backend does not filter" },
  { file: "src/cli/table.ts", find: "(i === cells.length - 1 ? c : c + \" \".repeat(widths[i]! - width(c)))", replace: "(i === cells.length - 1 ? c : c + \" \".repeat(widths[i]! - c.length))", tests: [`${I}cli-commands.test.ts`], what: "table columns padded by string length, not display width" },

  // dashboard
  { file: "src/dashboard/render.ts", find: "return String(value ?? \"\").replace(/[&<>\"']/g,", replace: "return String(value ?? \"\").replace(/[&<>']/g,", tests: [`${I}dashboard-escaping.test.ts`, `${I}dashboard.test.ts`], what: "quotes not escaped in attributes" },
  { file: "src/dashboard/render.ts", find: "if (b.source !== \"config\") out.push(btn(\"remove\", \"Remove\"))", replace: "out.push(btn(\"remove\", \"Remove\"))", tests: [`${I}dashboard-escaping.test.ts`], what: "configured backends offered a Remove button" },
  { file: "src/dashboard/page.ts", find: "return JSON.stringify(value).replace(/</g, ", replace: "return JSON.stringify(value).replace(/<(?=never)/g, ", tests: [`${I}dashboard.test.ts`], filter: "escaped", what: "the embedded snapshot does not escape <" },

  // seeing the fleet
  { file: "src/observability/fleet-metrics.ts", find: "    loads.inc({ backend: e.backend, model: e.model, reason: e.reason })\n", replace: "", tests: [`${I}fleet-observe.test.ts`], filter: "residency", what: "nexus_model_loads_total never incremented" },
  { file: "src/observability/fleet-metrics.ts", find: "    seconds.observe({ backend: e.backend, model: e.model }, e.ms / 1000)\n", replace: "", tests: [`${I}fleet-observe.test.ts`], filter: "residency", what: "nexus_model_load_seconds never observed" },
  { file: "src/fleet/fleet.ts", find: "      } else if (managed) counts.warm++", replace: "      }", tests: [`${I}fleet-observe.test.ts`], filter: "residency", what: "warm requests not counted (warm-hit ratio stuck at 0)" },
  { file: "src/fleet/fleet.ts", find: "          if (!awaited.delete(k)) return", replace: "          if (backend.models.get(model)?.loaded !== false) return", tests: [`${I}fleet-observe.test.ts`], filter: "probe notices", what: "a load a probe saw first is not counted or learned" },
  { file: "src/fleet/fleet.ts", find: "      learn(backend.id, model, ms)\n      loadDone({ backend: backend.name, model, reason, ms })", replace: "      loadDone({ backend: backend.name, model, reason, ms })", tests: [`${I}fleet-observe.test.ts`], filter: "learned", what: "explicit loads do not teach the load time" },
  { file: "src/cli/fleet-view.ts", find: "const filled = Math.min(BAR, Math.round((used / total) * BAR))", replace: "const filled = Math.round((used / total) * BAR)", tests: [`${U}fleet-view.test.ts`], what: "nexus fleet's bar overflows when loaded models exceed the budget" },
  { file: "src/dashboard/render.ts", find: "<li data-model=\"${esc(m.id)}\">", replace: "<li data-model=\"${m.id}\">", tests: [`${I}dashboard-fleet.test.ts`], what: "a model name not escaped in the memory section's attribute" },
  { file: "src/http/dashboard.ts", find: "series: [], loads: [] })", replace: "series: [] })", tests: [`${I}dashboard-fleet.test.ts`], filter: "signed out", what: "the signed-out page shows recent loads" },

  // every metric series moves (metrics-series.test.ts), escaping contexts, and folders with few mutations
  { file: "src/observability/key-usage.ts", find: "if (completion > 0) tokens.inc({ key: key.name, type: \"completion\" }, completion)", replace: "if (completion > 0) tokens.inc({ key: key.name, type: \"prompt\" }, completion)", tests: [`${I}metrics-series.test.ts`], filter: "cloud request moves", what: "a key's completion tokens counted as prompt" },
  { file: "src/observability/key-usage.ts", find: "        cost.inc({ key: key.name }, r.costUsd)\n", replace: "", tests: [`${I}metrics-series.test.ts`], filter: "cloud request moves", what: "nexus_key_cost_usd_total never incremented" },
  { file: "src/observability/key-usage.ts", find: "this.set({ key: k.name }, limits.inFlight(k))", replace: "this.set({ key: k.name }, 0)", tests: [`${I}metrics-series.test.ts`], filter: "cloud request moves", what: "nexus_key_in_flight stuck at 0" },
  { file: "src/observability/cost.ts", find: "      this.set(held.reservedUsd)\n", replace: "      this.set(0)\n", tests: [`${I}metrics-series.test.ts`], filter: "cloud request moves", what: "nexus_budget_reserved_usd never shows what is reserved" },
  { file: "src/observability/ledger-watch.ts", find: "    errors.inc({ operation: f.operation })\n", replace: "", tests: [`${I}metrics-series.test.ts`], filter: "ledger", what: "nexus_ledger_errors_total never incremented" },
  { file: "src/observability/state-up.ts", find: "this.set(state.isUp() ? 1 : 0)", replace: "this.set(1)", tests: [`${I}metrics-series.test.ts`], filter: "state store", what: "nexus_state_up says 1 while Redis is down" },
  { file: "src/observability/fleet-metrics.ts", find: "this.set(warm + cold === 0 ? 1 : warm / (warm + cold))", replace: "this.set(warm + cold === 0 ? 1 : cold / (warm + cold))", tests: [`${I}metrics-series.test.ts`], filter: "cold model", what: "warm-hit ratio computed from cold attempts" },
  { file: "src/observability/metrics.ts", find: "for (const b of backends.list()) if (b.status === \"healthy\") for (const id of b.models.keys()) ids.add(id)", replace: "for (const b of backends.list()) for (const id of b.models.keys()) ids.add(id)", tests: [`${I}metrics-series.test.ts`], filter: "in flight per backend", what: "nexus_models_available counts models of unhealthy backends" },
  { file: "src/observability/record.ts", find: "  if (r.errorCode !== undefined) return \"rejected\"\n", replace: "", tests: [`${I}metrics-series.test.ts`], filter: "per dialect", what: "a request Nexus refused counted as an upstream error" },
  { file: "src/observability/listener-faults.ts", find: "counts.set(bus, (counts.get(bus) ?? 0) + 1)", replace: "counts.set(bus, 1)", tests: [`${I}metrics-series.test.ts`], filter: "subscriber that throws", what: "nexus_event_listener_errors_total stops at 1" },
  { file: "src/observability/log.ts", find: "const NEEDS_QUOTES = /[\\s\"=\\p{Cc}]/u", replace: "const NEEDS_QUOTES = /[\\s\"=]/u", tests: [`${U}log.test.ts`], what: "a control character in a log field written raw (terminal escapes)" },
  { file: "src/observability/log.ts", find: "    add(printable(message))\n", replace: "    add(message)\n", tests: [`${U}log.test.ts`], what: "a line break in a log message forges a second line" },
  { file: "src/cli/table.ts", find: "const rows = given.map((r) => r.map(printable))", replace: "const rows = given", tests: [`${U}cli-table.test.ts`], what: "control characters in a CLI table cell reach the terminal" },
  { file: "src/cli/backends.ts", find: "if (args.status) backends = backends.filter((b) => b.status === args.status!.toLowerCase())", replace: "if (args.status) backends = backends.filter((b) => b.status !== undefined)", tests: [`${I}cli-commands.test.ts`], filter: "status filters", what: "nexus backends list --status does not filter" },
  { file: "src/dashboard/render.ts", find: "<div class=\"err\">${esc(b.lastError)}</div>", replace: "<div class=\"err\">${b.lastError}</div>", tests: [`${I}dashboard-escaping.test.ts`], what: "a backend's error shown as HTML, not text" },
  { file: "src/config/schema.ts", find: "max_event_subscribers: v.optional(int(1, 100_000), 64)", replace: "max_event_subscribers: v.optional(int(1, 100_000), 65)", tests: [`${U}config-template.test.ts`], what: "a default that differs from the documented one (64 subscribers)" },
  { file: "src/config/checks.ts", find: "} else if (chain.length - 1 > MAX_ALIAS_HOPS && !targets.has(start)) {", replace: "} else if (chain.length - 1 >= MAX_ALIAS_HOPS && !targets.has(start)) {", tests: [`${U}config.test.ts`, `${U}config-errors.test.ts`], what: "an alias chain of exactly 3 hops refused (doc: at most 3)" },
  { file: "src/core/aliases.ts", find: "for (let hop = 0; hop < MAX_ALIAS_HOPS; hop++)", replace: "for (let hop = 0; hop < MAX_ALIAS_HOPS - 1; hop++)", tests: [`${U}aliases.test.ts`, `${U}router.test.ts`, `${U}config.test.ts`], what: "the third alias hop not followed (off by one)" },
  { file: "src/core/pricing.ts", find: "(input * price.input_per_million + output * price.output_per_million) / 1_000_000", replace: "(input * price.input_per_million + output * price.input_per_million) / 1_000_000", tests: [`${I}budget.test.ts`], filter: "non-streamed", what: "output tokens priced at the input price" },
  { file: "src/routing/router.ts", find: "for (let i = 0; i < scored.length && !hasCloud; i++) hasCloud = isCloud(scored[i]!.backend)", replace: "for (let i = 0; i < scored.length && !hasCloud; i++) hasCloud = false", tests: [`${I}privacy-tier.test.ts`], filter: "local first", what: "cloud backends not kept behind local ones" },
  { file: "src/routing/router.ts", find: "const n = Math.min(all.length, config.max_retries + 1)", replace: "const n = Math.min(all.length, config.max_retries)", tests: [`${U}router.test.ts`, `${I}resilience.test.ts`], what: "one attempt fewer than max_retries allows (off by one)" },
  { file: "src/policy/key-limits.ts", find: "if (key.maxConcurrent !== undefined && s.inFlight >= key.maxConcurrent) {", replace: "if (key.maxConcurrent !== undefined && s.inFlight > key.maxConcurrent) {", tests: [`${I}keys-limits.test.ts`], filter: "in flight", what: "a key's max_concurrent lets one more in" },
  { file: "src/policy/budget.ts", find: "utilization >= cfg.soft_limit_percent ? \"soft_limit\"", replace: "utilization > cfg.soft_limit_percent ? \"soft_limit\"", tests: [`${I}budget.test.ts`, `${I}budget-property.test.ts`], what: "soft limit reached only past the percentage" },
  { file: "src/registry/registry.ts", find: "      backend.stats.requests++\n", replace: "", tests: [`${I}telemetry.test.ts`], filter: "metrics counts", what: "a backend's request count never grows" },
  { file: "src/registry/manage.ts", find: "      for (const s of store?.backends() ?? []) restoreOne(s)\n", replace: "", tests: [`${I}state-file.test.ts`], filter: "survives a restart", what: "runtime-added backends not restored after a restart" },
  { file: "src/persist/key-store.ts", find: "revokedAt: r.revoked_at ?? undefined", replace: "revokedAt: undefined", tests: [`${I}keys.test.ts`], filter: "restart", what: "a revoked key works again after a restart" },
  { file: "src/persist/state-file.ts", find: "existing: () => (db || (dir && !closed && existsSync(path)) ? open() : undefined)", replace: "existing: () => open()", tests: [`${I}state-file.test.ts`], filter: "do not create", what: "reading state creates the file" },
  { file: "src/health/checker.ts", find: "    if (o.tools !== undefined) caps.tools = o.tools\n", replace: "", tests: [`${I}adapters.test.ts`], filter: "overrides", what: "a tools override in [[backends.models]] ignored" },
  { file: "src/health/checker.ts", find: "const allowed = result.models.filter((m) => allowedBy(backend.allowModels, m.id))", replace: "const allowed = result.models", tests: [`${I}cloud-backends.test.ts`], what: "allow_models ignored: every model of a cloud account listed" },
  { file: "src/discovery/probe.ts", find: "if (skip.has(key) || seen.has(key)) return", replace: "if (seen.has(key)) return", tests: [`${U}discovery.test.ts`], what: "discovery probes its own port" },
  { file: "src/discovery/probe.ts", find: "    else for (const port of t.ports) add(entry, port)\n", replace: "", tests: [`${U}discovery.test.ts`], what: "a probe host without a port is never probed" },
  { file: "src/routing/router.ts", find: "return known(listed) ? listed : (registry.listedAs(listed) ?? listed)", replace: "return listed", tests: [`${I}model-case.test.ts`], what: "a model name in another case is a 404" },
  { file: "src/core/frames.ts", find: "      if (text.charCodeAt(0) === 10) text = text.slice(1)\n", replace: "", tests: [`${U}frames.test.ts`], what: "a CR LF pair split across chunks read as two line breaks" },
  { file: "src/core/frames.ts", find: "this.intact = this.clean && clean", replace: "this.intact = clean", tests: [`${U}frames.test.ts`], what: "a chunk that begins inside a character forwarded as its own bytes" },
  { file: "src/core/openai-fold.ts", find: "    acc.order.set(index, at)\n", replace: "", tests: [`${U}frames.test.ts`], what: "each fragment of a streamed tool call folded as a call of its own" },
  { file: "src/http/pipeline.ts", find: "      // The key first, whatever path the request takes next.\n      if (deps.config().auth.required) {", replace: "      if (!endpoint.framing.lines && deps.fleet.anyCold()) return await withColdStart(deps, endpoint, scope, proxy)\n      if (deps.config().auth.required) {", tests: [`${I}keys-cold-start.test.ts`], what: "the cold-start path skips the client's key" },
  { file: "src/fleet/fleet.ts", find: "      if (loaded === undefined) return undefined\n      const k = residencyKey(backend.id, model)", replace: "      if (loaded === undefined || !on()) return undefined\n      const k = residencyKey(backend.id, model)", tests: [`${I}fleet-off.test.ts`], what: "with fleet management off, an unload on command removes a busy model" },
  { file: "src/http/ingress-deps.ts", find: "continues: prompt.continues, key }", replace: "continues: prompt.continues }", tests: [`${I}keys-counting.test.ts`], what: "counting a prompt ignores the client's key (privacy, models)" },
]
