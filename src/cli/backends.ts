/**
 * `nexus backends list|add|remove|drain|undrain`, against the running server.
 * @module
 */
import { defineCommand } from "citty"
import type { backendView } from "../http/admin.ts"
import { FIELDS } from "../config/schema.ts"
import { BACKEND_TYPES } from "../config/types.ts"
// Declares the backend types the help below lists.
import "../egress/providers/index.ts"
import { checkInto, numberFrom } from "../config/values.ts"
import { api, fail, serverUrl, urlArg } from "./client.ts"
import { statusMark, table } from "./table.ts"

type BackendView = ReturnType<typeof backendView>

/** How many models, and how many loaded, or that the server keeps them all loaded. */
function modelsCell(b: BackendView): string {
  if (b.lifecycle === "always_loaded") return `${b.models.length} (always loaded)`
  return `${b.models.length} (${b.models.filter((m) => m.loaded === true).length} loaded)`
}

const list = defineCommand({
  meta: {
    name: "list",
    description:
      "List backends with status, models, load and latency.\n\nExamples:\n  nexus backends list\n  nexus backends list --status unhealthy\n  nexus backends list --json | jq '.backends[].name'",
  },
  args: {
    ...urlArg,
    json: { type: "boolean", description: "Print JSON: {\"backends\": [ {id, name, url, type, status, source, models, in_flight, ...} ]}" },
    status: { type: "string", description: "Only backends with this status: healthy|unhealthy|loading|draining|unknown" },
  },
  async run({ args }) {
    const base = serverUrl(args.url)
    let { backends } = await api<{ backends: BackendView[] }>(base, "/v1/backends")
    if (args.status) backends = backends.filter((b) => b.status === args.status!.toLowerCase())
    if (args.json) return void process.stdout.write(`${JSON.stringify({ backends }, null, 2)}\n`)
    if (!backends.length) return void process.stdout.write(`No backends${args.status ? ` with status ${args.status}` : ""} at ${base}.\n`)
    process.stdout.write(
      table(
        ["NAME", "STATUS", "TYPE", "URL", "MODELS", "IN FLIGHT", "TTFT", "SOURCE"],
        backends.map((b) => [
          b.name,
          statusMark(b.status),
          b.type,
          b.url,
          modelsCell(b),
          b.max_concurrent ? `${b.in_flight}/${b.max_concurrent}` : String(b.in_flight),
          b.ttft_ewma_ms === null ? "-" : `${Math.round(b.ttft_ewma_ms)} ms`,
          b.source,
        ])
      )
    )
  },
})

/**
 * The POST /v1/backends body. Flags are checked here by the rules a [[backends]] entry
 * has in the file, so a bad one gets the same message, before any request is made.
 */
function addBody(args: { target: string; name?: string; type?: string; priority?: string; "api-key-env"?: string; zone?: string }) {
  const problems: string[] = []
  const body = {
    url: args.target,
    name: args.name,
    type: args.type === undefined ? undefined : checkInto(problems, "--type", args.type, FIELDS.backend_type),
    priority: args.priority === undefined ? undefined : checkInto(problems, "--priority", args.priority, FIELDS.priority, numberFrom),
    api_key_env:
      args["api-key-env"] === undefined ? undefined : checkInto(problems, "--api-key-env", args["api-key-env"], FIELDS.api_key_env),
    zone: args.zone === undefined ? undefined : checkInto(problems, "--zone", args.zone, FIELDS.zone),
  }
  if (problems.length) fail(problems.join("\n"), 2)
  return body
}

const add = defineCommand({
  meta: {
    name: "add",
    description:
      "Add a backend to the running server; the type is detected when --type is omitted. It survives restarts.\n\nExamples:\n  nexus backends add http://gpu-box:8000\n  nexus backends add http://192.168.1.20:11434 --name kitchen-pc --priority 10\n  nexus backends add https://api.openai.com --type openai --api-key-env OPENAI_API_KEY",
  },
  args: {
    target: { type: "positional", description: "Base URL of the server (no /v1)", required: true },
    ...urlArg,
    name: { type: "string", description: "Name (default: <type>-<host>-<port>)" },
    type: { type: "string", description: `One of: ${BACKEND_TYPES.join(", ")}` },
    priority: { type: "string", description: "Lower is preferred (default 50)" },
    "api-key-env": { type: "string", description: "Environment variable on the server holding its API key" },
    zone: { type: "string", description: "restricted|open (default: restricted only for a local server at a loopback, private or link-local address)" },
    json: { type: "boolean", description: "Print the added backend as JSON" },
  },
  async run({ args }) {
    const b = await api<BackendView>(serverUrl(args.url), "/v1/backends", { method: "POST", body: addBody(args) })
    if (args.json) return void process.stdout.write(`${JSON.stringify(b, null, 2)}\n`)
    process.stdout.write(`Added ${b.name} (${b.type} at ${b.url}): ${statusMark(b.status)}, ${b.models.length} model(s)\n`)
  },
})

function simple(name: "remove" | "drain" | "undrain", description: string) {
  return defineCommand({
    meta: { name, description },
    args: { id: { type: "positional", description: "Backend id (its name)", required: true }, ...urlArg },
    async run({ args }) {
      const base = serverUrl(args.url)
      const path = `/v1/backends/${encodeURIComponent(args.id)}${name === "remove" ? "" : `/${name}`}`
      await api(base, path, { method: name === "remove" ? "DELETE" : "POST", body: name === "remove" ? undefined : {} })
      const done = { remove: "Removed", drain: "Draining", undrain: "Undrained" }[name]
      process.stdout.write(`${done} ${args.id}\n`)
    },
  })
}

export const backendsCommand = defineCommand({
  meta: { name: "backends", description: "List and manage the running server's backends" },
  subCommands: {
    list,
    add,
    remove: simple("remove", "Remove a backend; requests in flight on it finish.\n\nExample:\n  nexus backends remove gpu-box"),
    drain: simple("drain", "Let a backend finish what it has and take nothing new.\n\nExample:\n  nexus backends drain gpu-box"),
    undrain: simple("undrain", "Put a drained backend back in rotation.\n\nExample:\n  nexus backends undrain gpu-box"),
  },
})
