/**
 * `nexus models` and `nexus health`, against the running server.
 * @module
 */
import { defineCommand } from "citty"
import type { healthSummary } from "../http/health.ts"
import type { ModelEntry } from "../ingress/catalog.ts"
import { answeredBy, api, serverUrl, urlArg } from "./client.ts"
import { statusMark, table } from "./table.ts"
import { lifecycleCommands } from "./fleet.ts"

export const modelsCommand = defineCommand({
  meta: {
    name: "models",
    description:
      "List the models the running server can route to; load, unload or pin one.\n\nExamples:\n  nexus models\n  nexus models --backend gpu-box\n  nexus models --json\n  nexus models load qwen3-coder:30b --backend gpu-box --keep-alive 30m",
  },
  subCommands: lifecycleCommands,
  args: {
    ...urlArg,
    json: { type: "boolean", description: "Print JSON: {\"models\": [ {id, context_length, capabilities, backends, ...} ]}" },
    backend: { type: "string", description: "Only models served by this backend" },
  },
  async run({ args }) {
    // citty runs this after a subcommand too: the subcommand has answered.
    if (args._[0] !== undefined && args._[0] in lifecycleCommands) return
    const { data } = await api<{ data: ModelEntry[] }>(serverUrl(args.url), "/v1/models")
    const models = args.backend ? data.filter((m) => m.backends.includes(args.backend!)) : data
    if (args.json) return void process.stdout.write(`${JSON.stringify({ models }, null, 2)}\n`)
    if (!models.length) return void process.stdout.write("No models available.\n")
    const caps = (m: ModelEntry) =>
      Object.entries(m.capabilities)
        .filter(([k, v]) => v === true && k !== "completion")
        .map(([k]) => k)
        .join(",") || "-"
    process.stdout.write(
      table(
        ["MODEL", "CONTEXT", "CAPABILITIES", "BACKENDS"],
        models.map((m) => [m.alias_of ? `${m.id} -> ${m.alias_of}` : m.id, m.context_length ? String(m.context_length) : "-", caps(m), m.backends.join(", ")])
      )
    )
  },
})

export const healthCommand = defineCommand({
  meta: {
    name: "health",
    description: "Show the running server's health.\n\nExamples:\n  nexus health\n  nexus health --json\n  nexus health --url http://nexus.local:8000",
  },
  args: {
    ...urlArg,
    json: { type: "boolean", description: "Print the /health JSON: {status, version, uptime_seconds, backends{...}, models}" },
  },
  async run({ args }) {
    let base = serverUrl(args.url)
    const h = await api<ReturnType<typeof healthSummary>>(base, "/health")
    base = answeredBy(base)
    if (args.json) return void process.stdout.write(`${JSON.stringify(h, null, 2)}\n`)
    const b = h.backends
    process.stdout.write(
      `${statusMark(h.status)}  Nexus ${h.version} at ${base}, up ${h.uptime_seconds} s\n` +
        `backends: ${b.healthy}/${b.total} healthy` +
        (b.unhealthy ? `, ${b.unhealthy} unhealthy` : "") +
        (b.loading ? `, ${b.loading} loading` : "") +
        (b.draining ? `, ${b.draining} draining` : "") +
        (b.unknown ? `, ${b.unknown} unknown` : "") +
        `\nmodels: ${h.models}\n`
    )
  },
})
