/**
 * Claude Code as a new user runs it: no `--model` (its default model), the `sonnet` alias,
 * and a local model's name, each doing one tool round trip through Nexus to an
 * OpenAI-compatible server whose chat template is strict about system messages (vLLM),
 * to Ollama, and to Anthropic. These model choices make Claude Code send a system turn
 * inside `messages`; it must reach Anthropic as sent and every other server in a form
 * its template accepts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { startAnthropic, startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { agentBin, runAgent, sandbox } from "../helpers/agents.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { lacking } from "../helpers/skip.ts"

const SECRET = "The secret word is HERON-17."
const REPLY = "Emulated model here; the file says:"
const PROMPT = "What is the secret word in notes.txt?"
const ANTHROPIC_KEY = "sk-ant-cc-models-1"
const THOUGHT = "Private musing: the user wants the file read."
/** The model choices under test, as Claude Code's own flags. */
const CHOICES: { name: string; flags: string[] }[] = [
  { name: "no --model", flags: [] },
  { name: "--model sonnet", flags: ["--model", "sonnet"] },
  { name: "--model qwen3-coder", flags: ["--model", "qwen3-coder"] },
]

type Body = { model: string; messages: { role: string; content: unknown }[] }
const box = sandbox({ "notes.txt": `${SECRET}\n` })
const notes = join(box.cwd, "notes.txt")
const agent = { reply: REPLY, toolRoundTrip: true, chunks: 3, toolCalls: [{ name: "Read", arguments: { file_path: notes } }] }
const servers: Record<"vllm" | "ollama" | "anthropic", { emu: Emulator; nexus: TestNexus }> = {} as never

beforeAll(async () => {
  // A thinking model whose template is strict about system messages (Qwen's newer ones are).
  const vllm = await startVllm({ ...agent, strictTemplate: true, reasoning: THOUGHT, models: [{ id: "qwen3-coder", contextLength: 65536 }] })
  const ollama = await startOllama({ ...agent, models: [{ id: "qwen3-coder:latest", capabilities: ["completion", "tools"] }] })
  const anthropic = await startAnthropic({ ...agent, apiKey: ANTHROPIC_KEY, models: ["claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"] })
  servers.vllm = { emu: vllm, nexus: await startNexus({ routing: { aliases: { "claude-*": "qwen3-coder" } }, backends: [backend("vllm", vllm.url, "vllm")] }) }
  servers.ollama = { emu: ollama, nexus: await startNexus({ routing: { aliases: { "claude-*": "qwen3-coder:latest" } }, backends: [backend("ollama", ollama.url, "ollama")] }) }
  const anthropicNexus = await startNexus(
    { routing: { aliases: { "qwen3-coder": "claude-sonnet-5-5" } }, backends: [backend("claude", anthropic.url, "anthropic", { api_key_env: "CC_MODELS_TEST_KEY" })] },
    { env: { CC_MODELS_TEST_KEY: ANTHROPIC_KEY } }
  )
  servers.anthropic = { emu: anthropic, nexus: anthropicNexus }
})

afterAll(async () => {
  for (const { emu, nexus } of Object.values(servers)) {
    await nexus.stop(0)
    await emu.stop()
  }
})

/** Run Claude Code against one Nexus: what it printed, and the bodies its backend received meanwhile. */
async function ask(kind: keyof typeof servers, flags: string[]): Promise<{ bodies: Body[]; stdout: string }> {
  const { emu, nexus } = servers[kind]
  const before = emu.stats.bodies.length
  const run = await runAgent([agentBin("claude")!, "-p", PROMPT, ...flags, "--allowedTools", "Read"], {
    ...box,
    env: { ANTHROPIC_BASE_URL: nexus.url, ANTHROPIC_AUTH_TOKEN: "nexus" },
  })
  expect(run.code, run.stderr + run.stdout).toBe(0)
  expect(run.stdout).toContain(REPLY)
  expect(run.stdout).toContain(SECRET)
  return { bodies: emu.stats.bodies.slice(before).map((b) => JSON.parse(b) as Body), stdout: run.stdout }
}

/** The text of a message's content, whatever its shape. */
const textOf = (content: unknown) => (typeof content === "string" ? content : JSON.stringify(content))

describe.skipIf(lacking("the claude CLI is not installed", agentBin("claude")))("Claude Code's default setup through Nexus", () => {
  for (const choice of CHOICES) {
    test(`${choice.name}: a local server with a strict template gets no system message after the first, and keeps its text`, async () => {
      const { bodies, stdout } = await ask("vllm", choice.flags)
      expect(bodies.length).toBeGreaterThanOrEqual(2)
      for (const b of bodies) expect(b.messages.slice(1).map((m) => m.role)).not.toContain("system")
      // Claude Code's mid-conversation system turn (its environment) reached the model.
      expect(bodies.some((b) => b.messages.slice(1).some((m) => m.role === "user" && textOf(m.content).includes("<system-reminder>\n# Environment")))).toBe(true)
      // The second turn repeats the first one's messages byte for byte (the prompt cache holds).
      const [first, second] = bodies.slice(-2) as [Body, Body]
      expect(JSON.stringify(second.messages.slice(0, first.messages.length))).toBe(JSON.stringify(first.messages))
      // Claude Code asks for adaptive thinking with its display omitted: the model thinks, the user sees none of it.
      for (const b of bodies) expect((b as { chat_template_kwargs?: unknown }).chat_template_kwargs).toEqual({ enable_thinking: true })
      expect(stdout).not.toContain(THOUGHT)
    }, 120_000)

    test(`${choice.name}: Ollama answers the tool round trip`, async () => {
      const { bodies } = await ask("ollama", choice.flags)
      expect(bodies.length).toBeGreaterThanOrEqual(2)
      for (const b of bodies) expect(b.messages.slice(1).map((m) => m.role)).not.toContain("system")
    }, 120_000)

    test(`${choice.name}: Anthropic gets the system turn as Claude Code sent it`, async () => {
      const { bodies } = await ask("anthropic", choice.flags)
      expect(bodies.length).toBeGreaterThanOrEqual(2)
      expect(bodies.some((b) => b.messages.some((m, i) => i > 0 && m.role === "system"))).toBe(true)
    }, 120_000)
  }

  test("a tool search loads a deferred tool for a local model, and the placeholder is never offered", async () => {
    const searcher = await startVllm({ ...agent, toolCalls: [{ name: "ToolSearch", arguments: { query: "select:WebFetch", max_results: 5 } }], models: ["qwen3-coder"] })
    const nexus = await startNexus({ routing: { aliases: { "claude-*": "qwen3-coder" } }, backends: [backend("vllm", searcher.url, "vllm")] })
    try {
      const run = await runAgent([agentBin("claude")!, "-p", PROMPT, "--allowedTools", "ToolSearch"], { ...box, env: { ANTHROPIC_BASE_URL: nexus.url, ANTHROPIC_AUTH_TOKEN: "nexus" } })
      expect(run.code, run.stderr + run.stdout).toBe(0)
      // The emulated model repeats the tool's result: what the search told it.
      expect(run.stdout).toContain("Tool WebFetch is now available to call.")
      const offered = searcher.stats.bodies.map((b) => (JSON.parse(b) as { tools: { function: { name: string } }[] }).tools.map((t) => t.function.name))
      expect(offered.length).toBeGreaterThanOrEqual(2)
      expect(offered[0]).toContain("ToolSearch")
      expect(offered[0]).not.toContain("WebFetch")
      expect(offered.at(-1)).toContain("WebFetch")
      for (const names of offered) expect(names).not.toContain("DeferredToolPlaceholder")
    } finally {
      await nexus.stop(0)
      await searcher.stop()
    }
  }, 120_000)
})
