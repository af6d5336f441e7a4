/**
 * `nexus models load|unload|pin|unpin`: ask the running server to load or unload a model
 * a backend already has, or keep it loaded. Nexus never downloads models. And `nexus
 * fleet`: what is loaded where (its subcommands go in `fleetSubCommands`).
 * @module
 */
import { printable } from "./table.ts"
import { defineCommand } from "citty"
import { KEEP_ALIVE_EXPECTED, keepAliveMs } from "../fleet/duration.ts"
import type { Outcome } from "../fleet/control.ts"
import type { FleetState } from "../http/fleet-admin.ts"
import { api, fail, serverUrl, urlArg } from "./client.ts"
import { renderFleet } from "./fleet-view.ts"

const model = { type: "positional", description: "Model name (as `nexus models` lists it, or an alias)", required: true } as const

/** A load waits for the server: as long as the server allows a cold start, and then some. */
const LOAD_WAIT_MS = 15 * 60_000

const path = (id: string, action: string) => `/v1/models/${encodeURIComponent(id)}/${action}`

function say(o: Outcome): string {
  const what = { loaded: "Loaded", already_loaded: "Already loaded:", unloaded: "Unloaded", not_loaded: "Not loaded:", pinned: "Pinned", unpinned: "Unpinned", renewed: "Renewed" }[o.result] ?? o.result
  return `${what} ${o.model} on ${o.backend}${o.load_ms !== undefined ? ` (${(o.load_ms / 1000).toFixed(1)} s)` : ""}\n`
}

const load = defineCommand({
  meta: {
    name: "load",
    description:
      "Load a model on a backend that has it (default: where it fits best).\n\nExamples:\n  nexus models load qwen3-coder:30b\n  nexus models load qwen3-coder:30b --backend gpu-box --keep-alive 30m",
  },
  args: {
    model,
    ...urlArg,
    backend: { type: "string", description: "The backend to load it on" },
    "keep-alive": { type: "string", description: 'How long it stays loaded when idle: "30m", "1h", seconds; negative: until unloaded (Ollama)' },
    json: { type: "boolean", description: "Print the outcome as JSON" },
  },
  async run({ args }) {
    const keep = args["keep-alive"]
    if (keep !== undefined && keepAliveMs(keep) === undefined) fail(`--keep-alive: ${KEEP_ALIVE_EXPECTED}, got ${JSON.stringify(keep)}`, 2)
    const body = { ...(args.backend ? { backend: args.backend } : {}), ...(keep !== undefined ? { keep_alive: keep } : {}) }
    const o = await api<Outcome>(serverUrl(args.url), path(args.model, "load"), { method: "POST", body, timeoutMs: LOAD_WAIT_MS })
    process.stdout.write(args.json ? `${JSON.stringify(o, null, 2)}\n` : say(o))
  },
})

const unload = defineCommand({
  meta: {
    name: "unload",
    description:
      "Unload a model (from one backend, or everywhere it is loaded). Refused while requests use it or it is pinned.\n\nExamples:\n  nexus models unload qwen3-coder:30b\n  nexus models unload qwen3-coder:30b --backend gpu-box",
  },
  args: { model, ...urlArg, backend: { type: "string", description: "Only on this backend" }, json: { type: "boolean", description: "Print the outcome as JSON" } },
  async run({ args }) {
    const r = await api<{ unloaded: Outcome[] }>(serverUrl(args.url), path(args.model, "unload"), { method: "POST", body: args.backend ? { backend: args.backend } : {}, timeoutMs: LOAD_WAIT_MS })
    process.stdout.write(args.json ? `${JSON.stringify(r, null, 2)}\n` : r.unloaded.map(say).join("") || `${args.model} is not loaded anywhere\n`)
  },
})

function pinCommand(action: "pin" | "unpin", description: string) {
  return defineCommand({
    meta: { name: action, description },
    args: { model, ...urlArg, backend: { type: "string", description: "The backend", required: true }, json: { type: "boolean", description: "Print the outcome as JSON" } },
    async run({ args }) {
      const o = await api<Outcome>(serverUrl(args.url), path(args.model, action), { method: "POST", body: { backend: args.backend }, timeoutMs: LOAD_WAIT_MS })
      process.stdout.write(args.json ? `${JSON.stringify(o, null, 2)}\n` : say(o))
    },
  })
}

export const lifecycleCommands = {
  load,
  unload,
  pin: pinCommand(
    "pin",
    "Keep a model loaded on a backend (loads it now; never unloaded by Nexus). Until restart; windows go in [[fleet.pins]].\n\nExample:\n  nexus models pin qwen3-coder:30b --backend gpu-box"
  ),
  unpin: pinCommand("unpin", "Drop a pin made with `nexus models pin`.\n\nExample:\n  nexus models unpin qwen3-coder:30b --backend gpu-box"),
}

interface PlanAction {
  action: "load" | "unload" | "keep"
  kind: string
  model: string
  backend: string
  reason: string
}

/** `nexus fleet plan`: what auto would load, unload or keep next, and why. */
const planCommand = defineCommand({
  meta: {
    name: "plan",
    description: "What the fleet would load, unload or keep next and why ([fleet] auto does it; the plan is told either way).\n\nExample:\n  nexus fleet plan",
  },
  args: { ...urlArg, json: { type: "boolean", description: "Print the plan as JSON" } },
  async run({ args }) {
    const plan = await api<{ enabled: boolean; auto: boolean; actions: PlanAction[] }>(serverUrl(args.url), "/v1/fleet/plan")
    if (args.json) return void process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`)
    const head = !plan.enabled ? "Fleet management is off ([fleet] enabled = false)." : plan.auto ? "Auto is on: Nexus does this next." : "Auto is off ([fleet] auto = false): Nexus would do this next."
    const lines = plan.actions.map((a) => `${a.action.padEnd(6)} ${a.model} on ${a.backend} (${a.kind}): ${a.reason}`)
    if (!lines.length && plan.enabled) lines.push("Nothing to load or unload.")
    process.stdout.write(`${[head, ...lines].map(printable).join("\n")}\n`)
  },
})

/** `nexus fleet <sub>`: each one a line here. */
export const fleetSubCommands = { plan: planCommand }

export const fleetCommand = defineCommand({
  meta: {
    name: "fleet",
    description:
      "Show what is loaded where: each box's memory with its models (size, expiry, in flight, pinned), learned load times, recent loads; `plan`: what Nexus would load or unload next, and why.\n\nExamples:\n  nexus fleet\n  nexus fleet --json\n  nexus fleet plan",
  },
  subCommands: fleetSubCommands,
  args: { ...urlArg, json: { type: "boolean", description: "Print the GET /v1/fleet JSON" } },
  async run({ args }) {
    // citty runs this after a subcommand too: the subcommand has answered.
    if (args._[0] !== undefined && args._[0] in fleetSubCommands) return
    const state = await api<FleetState>(serverUrl(args.url), "/v1/fleet")
    process.stdout.write(args.json ? `${JSON.stringify(state, null, 2)}\n` : renderFleet(state, Date.now()))
  },
})
