/**
 * `nexus launch <claude|codex|opencode> [--model M] [-- agent args]`: start a coding agent
 * pointed at the running gateway, with the model's real context window and an output
 * limit written into the agent's own settings, so it compacts its conversation before the
 * local model's window is full instead of at the window it assumes for a cloud model.
 * `--print` shows the settings as shell lines instead of starting the agent.
 *
 * Where each agent reads its window (checked against the releases the e2e tests pin):
 * - Claude Code takes `CLAUDE_CODE_MAX_CONTEXT_TOKENS` as the window of a model id it does
 *   not know (it assumes 1M otherwise) and ignores it for Claude ids, whose window it
 *   knows; `CLAUDE_CODE_AUTO_COMPACT_WINDOW` and the `autoCompactWindow` setting cannot go
 *   below 100k. So the agent is given the served model's own name (an alias's target),
 *   and compacts at that window minus its output budget.
 * - Codex takes `model_context_window` and `model_auto_compact_token_limit`; it has no
 *   output-limit setting and sends none, so the gateway's clamp sets the output budget.
 * - OpenCode takes `limit: {context, output}` per model in its config, given inline
 *   through `OPENCODE_CONFIG_CONTENT`.
 * @module
 */
import { defineCommand } from "citty"
import type { ModelEntry } from "../ingress/catalog.ts"
import { api, answeredBy, fail, serverUrl, urlArg } from "./client.ts"

export const AGENTS = ["claude", "codex", "opencode"] as const
type Agent = (typeof AGENTS)[number]

/** What starting an agent takes: its environment additions and its arguments. */
interface Settings {
  env: Record<string, string>
  args: string[]
}

interface LaunchPlan extends Settings {
  /** One line for `--print`: the model and the limits chosen. */
  summary: string
}

/** The window and the budgets derived from it, in tokens. */
export interface Limits {
  context: number
  /** Most tokens one answer may take. */
  output: number
  /** Prompt size at which the agent should compact: what leaves room for one answer. */
  compactAt: number
}

/** A quarter of the window for one answer, at most 32,000 (what Claude Code asks for by default). */
export function limitsFor(context: number): Limits {
  const output = Math.max(1, Math.min(32_000, Math.floor(context / 4)))
  return { context, output, compactAt: context - output }
}

const PACKAGES: Record<Agent, string> = { claude: "@anthropic-ai/claude-code", codex: "@openai/codex", opencode: "opencode-ai" }

/** Every model choice Claude Code makes (its main model, each tier alias, its subagents) points at `model`. */
const CLAUDE_MODEL_VARS = ["ANTHROPIC_MODEL", "ANTHROPIC_DEFAULT_FABLE_MODEL", "ANTHROPIC_DEFAULT_OPUS_MODEL", "ANTHROPIC_DEFAULT_SONNET_MODEL", "ANTHROPIC_DEFAULT_HAIKU_MODEL", "CLAUDE_CODE_SUBAGENT_MODEL"]

function claude(base: string, model: string | undefined, limits: Limits | undefined): Settings {
  const env: Record<string, string> = { ANTHROPIC_BASE_URL: base, ANTHROPIC_AUTH_TOKEN: process.env.ANTHROPIC_AUTH_TOKEN || "nexus" }
  if (model) {
    for (const k of CLAUDE_MODEL_VARS) env[k] = model
  }
  if (limits) {
    env.CLAUDE_CODE_MAX_CONTEXT_TOKENS = String(limits.context)
    env.CLAUDE_CODE_MAX_OUTPUT_TOKENS = String(limits.output)
  }
  return { env, args: [] }
}

function codex(base: string, model: string | undefined, limits: Limits | undefined): Settings {
  const provider = `model_providers.nexus={name="nexus",base_url="${base}/v1",env_key="NEXUS_API_KEY",wire_api="responses"}`
  const args = ["-c", "model_provider=nexus", "-c", provider]
  // `-c`, unlike `-m`, also reaches the subcommand (`codex exec`) when given before it.
  if (model) args.push("-c", `model=${JSON.stringify(model)}`)
  if (limits) args.push("-c", `model_context_window=${limits.context}`, "-c", `model_auto_compact_token_limit=${limits.compactAt}`)
  return { env: { NEXUS_API_KEY: process.env.NEXUS_API_KEY || "nexus" }, args }
}

function opencode(base: string, model: string | undefined, models: { id: string; limits?: Limits }[]): Settings {
  const entries = models.map((m) => [m.id, m.limits ? { limit: { context: m.limits.context, output: m.limits.output } } : {}])
  const config = {
    $schema: "https://opencode.ai/config.json",
    ...(model ? { model: `nexus/${model}` } : {}),
    provider: {
      nexus: { npm: "@ai-sdk/openai-compatible", name: "Nexus", options: { baseURL: `${base}/v1`, apiKey: process.env.NEXUS_API_KEY || "nexus" }, models: Object.fromEntries(entries) },
    },
  }
  return { env: { OPENCODE_CONFIG_CONTENT: JSON.stringify(config) }, args: [] }
}

/** Ask the gateway for the model (any name a request could use) and its window. */
async function lookUp(base: string, model: string): Promise<ModelEntry> {
  return api<ModelEntry>(base, `/v1/models/${encodeURIComponent(model)}`)
}

/** The settings for `agent`, from what the gateway at `base` says about the model. */
async function planLaunch(agent: Agent, base: string, model: string | undefined): Promise<LaunchPlan> {
  if (agent === "opencode") {
    // OpenCode lists models in its config: the one asked for, else every model served.
    const entries = model ? [await lookUp(base, model)] : (await api<{ data: ModelEntry[] }>(base, "/v1/models")).data
    const models = entries.map((e) => ({ id: e.id, limits: e.context_length ? limitsFor(e.context_length) : undefined }))
    return { ...opencode(answeredBy(base), model, models), summary: model ? describe(model, models[0]!.limits) : `${models.length} models, each with its window` }
  }
  const settings = agent === "claude" ? claude : codex
  if (!model) {
    await api(base, "/health")
    return { ...settings(answeredBy(base), undefined, undefined), summary: "the agent's default model (no --model: no window set)" }
  }
  const entry = await lookUp(base, model)
  const limits = entry.context_length ? limitsFor(entry.context_length) : undefined
  // Claude Code knows the windows of Claude ids and would ignore ours: give it the served name.
  const asked = agent === "claude" ? (entry.alias_of ?? entry.id) : model
  return { ...settings(answeredBy(base), asked, limits), summary: describe(asked, limits) }
}

function describe(model: string, limits: Limits | undefined): string {
  if (!limits) return `${model} (the gateway does not know its context window: none set)`
  return `${model}: context ${limits.context}, output ${limits.output} tokens`
}

/** Quote a value for a POSIX shell. */
export function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`
}

/** The plan as lines a shell can run: a comment, the exports, then the command. */
function printPlan(agent: Agent, plan: LaunchPlan, extra: string[]): string {
  const lines = [`# ${agent} through Nexus, ${plan.summary}`]
  for (const [k, v] of Object.entries(plan.env)) lines.push(`export ${k}=${shellQuote(v)}`)
  lines.push([agent, ...plan.args, ...extra].map(shellQuote).join(" "))
  return `${lines.join("\n")}\n`
}

/** Run the agent in the foreground and leave with its exit status. */
async function exec(agent: Agent, plan: LaunchPlan, extra: string[]): Promise<never> {
  const bin = Bun.which(agent)
  if (!bin) fail(`${agent} is not on PATH. Install it with \`npm install -g ${PACKAGES[agent]}\`, or use --print to see the settings.`)
  const child = Bun.spawn([bin!, ...plan.args, ...extra], { env: { ...process.env, ...plan.env }, stdio: ["inherit", "inherit", "inherit"] })
  // The terminal's Ctrl-C reaches the agent itself (same process group); the launcher only
  // waits for it. A stop signal sent to the launcher alone is passed on.
  process.on("SIGINT", () => {})
  for (const sig of ["SIGTERM", "SIGHUP"] as const) process.on(sig, () => child.kill(sig))
  process.exit(await child.exited)
}

export const launchCommand = defineCommand({
  meta: {
    name: "launch",
    description:
      "Start a coding agent pointed at the running server, with the model's context window and output limit set in the agent's own settings.\n\n" +
      "Examples:\n  nexus launch claude --model qwen3-coder\n  nexus launch codex --model qwen3-coder -- exec \"fix the tests\"\n  nexus launch opencode --model qwen3-coder -- run \"explain main.ts\"\n  nexus launch claude --model qwen3-coder --print",
  },
  args: {
    agent: { type: "positional", description: `The agent: ${AGENTS.join(", ")}`, required: true },
    model: { type: "string", description: "Model to use (any name the gateway answers: an id, an alias, a glob match)" },
    print: { type: "boolean", description: "Print the settings (shell exports and the command) instead of starting the agent" },
    ...urlArg,
  },
  async run({ args, rawArgs }) {
    const agent = args.agent as Agent
    if (!AGENTS.includes(agent)) fail(`Unknown agent '${args.agent}'. Choose one of: ${AGENTS.join(", ")}.`, 2)
    const dash = rawArgs.indexOf("--")
    const extra = dash === -1 ? [] : rawArgs.slice(dash + 1)
    const plan = await planLaunch(agent, serverUrl(args.url), args.model || undefined)
    if (args.print) return void process.stdout.write(printPlan(agent, plan, extra))
    await exec(agent, plan, extra)
  },
})
