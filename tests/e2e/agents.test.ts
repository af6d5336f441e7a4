/**
 * The coding agents themselves, from their npm releases (pinned in devDependencies), run
 * non-interactively against Nexus on loopback in front of emulated servers: Claude
 * Code (`claude -p`, Anthropic Messages), Codex CLI (`codex exec`, Responses, to an
 * OpenAI-compatible server without a Responses API, to Ollama and to Anthropic) and Continue
 * (`cn -p`, with its OpenAI provider to vLLM and to Anthropic, and its Ollama provider).
 * Each prints the emulated model's answer after one tool round trip: the model asks for a harmless read-only tool the agent
 * runs without a prompt, and the answer carries what the tool read. The settings are the
 * coding-agents guide (docs/coding-agents.md).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { startAnthropic, startLlamacpp, startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { agentBin, runAgent, sandbox } from "../helpers/agents.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { lacking } from "../helpers/skip.ts"

const SECRET = "The secret word is PELICAN-42."
const REPLY = "Emulated model here; the file says:"
const PROMPT = "What is the secret word in notes.txt?"
const LOOPBACK_ONLY = join(import.meta.dir, "../helpers/loopback-only.cjs")
const ANTHROPIC_KEY = "sk-ant-agents-1"
const CODEX_TOOL = { name: "exec_command", arguments: { cmd: "cat notes.txt" } }

let nexus: TestNexus
let claudeBackend: Emulator
let codexBackend: Emulator
let cnBackend: Emulator
let ollama: Emulator
let anthropic: Emulator
const box = sandbox({ "notes.txt": `${SECRET}\n` })
const notes = join(box.cwd, "notes.txt")

beforeAll(async () => {
  const agent = { reply: REPLY, toolRoundTrip: true, chunks: 4 }
  // A 32k window: Claude Code's max_tokens 32000 plus its ~10k-token prompt must be clamped.
  claudeBackend = await startVllm({ ...agent, models: [{ id: "qwen2.5-coder:32b", contextLength: 32768 }], toolCalls: [{ name: "Read", arguments: { file_path: notes } }] })
  // llama.cpp has no Responses API: Codex's requests and tool calls are translated both ways.
  codexBackend = await startLlamacpp({ ...agent, models: ["qwen2.5-coder-codex"], toolCalls: [CODEX_TOOL] })
  cnBackend = await startVllm({ ...agent, models: ["qwen2.5-coder:7b"], toolCalls: [{ name: "Read", arguments: { filepath: "notes.txt" } }] })
  // The model calls whichever of these tools the agent offers: Continue's Read, Codex's exec_command.
  ollama = await startOllama({ ...agent, models: [{ id: "qwen3-coder:30b", capabilities: ["completion", "tools"] }], toolCalls: [{ name: "Read", arguments: { filepath: "notes.txt" } }, CODEX_TOOL] })
  anthropic = await startAnthropic({ ...agent, apiKey: ANTHROPIC_KEY, models: ["claude-opus-5-5"], toolCalls: [CODEX_TOOL, { name: "Read", arguments: { filepath: "notes.txt" } }] })
  nexus = await startNexus(
    {
      routing: { aliases: { "claude-*": "qwen2.5-coder:32b", "gpt-5*": "qwen2.5-coder-codex", "gpt-5.5-codex": "claude-opus-5-5" } },
      backends: [
        backend("gpu-vllm", claudeBackend.url, "vllm"),
        backend("llamacpp", codexBackend.url, "llamacpp"),
        backend("small-vllm", cnBackend.url, "vllm"),
        backend("ollama", ollama.url, "ollama"),
        backend("claude", anthropic.url, "anthropic", { api_key_env: "AGENTS_TEST_ANTHROPIC_KEY" }),
      ],
    },
    { env: { AGENTS_TEST_ANTHROPIC_KEY: ANTHROPIC_KEY } }
  )
})

afterAll(async () => {
  await nexus.stop(0)
  await Promise.all([claudeBackend.stop(), codexBackend.stop(), cnBackend.stop(), ollama.stop(), anthropic.stop()])
})

/** The request log lines Nexus wrote for one model. */
const served = (model: string) => nexus.logs.filter((l) => l.msg === "request" && l.model === model)

describe("coding agents through Nexus", () => {
  const claude = agentBin("claude")
  test.skipIf(lacking("the claude CLI (Claude Code) is not installed", claude))("Claude Code (claude -p) reads a file with its Read tool and answers", async () => {
    const run = await runAgent([claude!, "-p", PROMPT, "--model", "claude-sonnet-4-5", "--allowedTools", "Read"], {
      ...box,
      env: { ANTHROPIC_BASE_URL: nexus.url, ANTHROPIC_AUTH_TOKEN: "nexus" },
    })
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toContain(REPLY)
    expect(run.stdout).toContain(SECRET)
    const bodies = claudeBackend.stats.bodies.map((b) => JSON.parse(b) as Record<string, unknown>)
    expect(bodies.length).toBeGreaterThanOrEqual(2)
    // The output budget was clamped to the 32k window, and Anthropic-only controls stayed home.
    for (const b of bodies) {
      expect(b.max_tokens as number).toBeLessThan(32000)
      for (const k of ["thinking", "context_management", "output_config", "metadata"]) expect(b[k]).toBeUndefined()
    }
    expect(JSON.stringify(bodies.at(-1)!.messages)).toContain(SECRET)
    // Both turns of the conversation are one session.
    expect(served("claude-sonnet-4-5").length).toBeGreaterThanOrEqual(2)
  }, 120_000)

  const codex = agentBin("codex")
  /** Codex's model name, and the server Nexus sends it to. */
  const CODEX_TARGETS = [
    { backend: "llamacpp", model: "gpt-5-codex", emu: () => codexBackend, path: "/v1/chat/completions" },
    { backend: "ollama", model: "qwen3-coder:30b", emu: () => ollama, path: "/v1/chat/completions" },
    { backend: "claude", model: "gpt-5.5-codex", emu: () => anthropic, path: "/v1/messages" },
  ]
  for (const target of CODEX_TARGETS) {
    test.skipIf(lacking("the codex CLI is not installed", codex))(`Codex CLI (codex exec, custom Responses provider) reads a file under its sandbox and answers, served by ${target.backend}`, async () => {
      const emu = target.emu()
      const before = emu.stats.byPath[target.path] ?? 0
      const run = await runAgent([codex!, "exec", "--skip-git-repo-check", "-c", "model_provider=nexus", "-c", codexProvider(), "-m", target.model, PROMPT], {
        ...box,
        env: { NEXUS_API_KEY: "nexus" },
      })
      expect(run.code, run.stderr).toBe(0)
      expect(run.stdout).toContain(REPLY)
      expect(run.stdout).toContain(SECRET)
      // Responses went out in the server's own dialect: the tool call, then the answer that read its output.
      expect((emu.stats.byPath[target.path] ?? 0) - before).toBeGreaterThanOrEqual(2)
      expect(emu.stats.bodies.at(-1)).toContain(SECRET)
      const lines = served(target.model)
      expect(lines.length).toBeGreaterThanOrEqual(2)
      expect(lines.every((l) => l.status === 200 && l.backend === target.backend)).toBe(true)
    }, 120_000)
  }

  const cn = agentBin("cn")
  /** Continue's provider, the model it asks for, and the server Nexus sends it to. */
  const CONTINUE_TARGETS = [
    { provider: "openai", model: "qwen2.5-coder:7b", backend: "small-vllm" },
    { provider: "ollama", model: "qwen3-coder:30b", backend: "ollama" },
    { provider: "openai", model: "claude-opus-5-5", backend: "claude" },
  ] as const
  for (const { provider, model, backend: via } of CONTINUE_TARGETS) {
    test.skipIf(lacking("the cn CLI (Continue) is not installed", cn))(`Continue (cn -p --config, ${provider} provider) reads a file with its Read tool and answers, served by ${via}`, async () => {
      const apiBase = provider === "openai" ? `${nexus.url}/v1` : nexus.url
      const config = join(box.home, `continue-${via}.yaml`)
      writeFileSync(config, continueConfig(provider, model, apiBase))
      const blocked = join(box.home, `blocked-${via}.log`)
      const run = await runAgent([cn!, "-p", PROMPT, "--config", config], {
        ...box,
        env: { NODE_OPTIONS: `--require ${LOOPBACK_ONLY}`, NEXUS_TEST_BLOCKED_LOG: blocked },
      })
      expect(run.code, run.stderr).toBe(0)
      expect(run.stdout).toContain(REPLY)
      expect(run.stdout).toContain(SECRET)
      const lines = served(model)
      expect(lines.length).toBeGreaterThanOrEqual(2)
      expect(lines.every((l) => l.backend === via)).toBe(true)
      // Continue asks api.continue.dev for its latest version when it loads, whatever
      // the settings; the guard refused it, and nothing else tried to leave.
      const tried = existsSync(blocked) ? readFileSync(blocked, "utf8").trim().split("\n") : []
      expect(tried.filter((h) => h !== "api.continue.dev:443")).toEqual([])
    }, 120_000)
  }
})

/** The coding-agents guide: the settings under test are read from it. */
const GUIDE = readFileSync(join(import.meta.dir, "../../docs/coding-agents.md"), "utf8")

/** Continue's config file, as the guide shows it, for this provider, model and address. */
function continueConfig(provider: "openai" | "ollama", model: string, apiBase: string): string {
  const yaml = /```yaml\n([\s\S]*?)```/.exec(GUIDE)![1]!
  return yaml
    .replace(/provider: openai.*/, `provider: ${provider}`)
    .replace(/model: .*/, `model: ${model}`)
    .replace(/apiBase: .*/, `apiBase: ${apiBase}`)
}

/** Codex's provider table, as the guide shows it, pointed at this Nexus. */
function codexProvider(): string {
  const table = /'(model_providers\.nexus=\{[^']*\})'/.exec(GUIDE)![1]!
  return table.replace("http://localhost:8000", nexus.url)
}

test("the coding-agents guide shows the settings these tests use", () => {
  for (const s of ["ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "DISABLE_AUTOUPDATER=1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "--allowedTools Read", "-c model_provider=nexus", "CONTINUE_CLI_ENABLE_TELEMETRY=0"]) {
    expect(GUIDE).toContain(s)
  }
  expect(codexProvider()).toContain('wire_api="responses"')
  expect(continueConfig("ollama", "m", "http://x")).toContain("provider: ollama\n")
})
