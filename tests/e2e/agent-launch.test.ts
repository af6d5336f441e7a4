/**
 * `nexus launch <agent>` as a user runs it: it asks the running gateway for the model's
 * window, prints the agent's settings with `--print`, and really starts Claude Code, Codex
 * and OpenCode (their pinned npm releases, offline) through the gateway, each completing
 * one prompt with a tool round trip. Claude Code and Codex, told the local window this way,
 * compact their conversation before it is full; told nothing, they do not.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { startLlamacpp, startVllm, type Emulator } from "../../emulators/index.ts"
import { shellQuote } from "../../src/cli/launch.ts"
import { agentBin, BIN, OFFLINE_ENV, runAgent, sandbox, seedOpencodeHome } from "../helpers/agents.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { MAIN } from "../helpers/process.ts"
import { lacking } from "../helpers/skip.ts"
import { eventually } from "../helpers/wait.ts"

const SECRET = "The secret word is KESTREL-7."
const REPLY = "Emulated model here; the file says:"
const PROMPT = "What is the secret word in notes.txt?"
/** Claude Code's and Codex's requests that ask the model to summarise the conversation so far. */
const COMPACTION = "Respond with TEXT ONLY"
const CODEX_COMPACTION = "CONTEXT CHECKPOINT COMPACTION"
/** A file of ~18k tokens: reading it outgrows a small local window, not the one an agent assumes. */
const bigBox = () => sandbox({ "notes.txt": `${SECRET}\n${Array.from({ length: 1400 }, (_, i) => `line ${i}: lorem ipsum dolor sit amet consectetur`).join("\n")}\n` })
const box = sandbox({ "notes.txt": `${SECRET}\n` })
const notes = join(box.cwd, "notes.txt")
let emu: Emulator
let nexus: TestNexus

beforeAll(async () => {
  const tools = [
    { name: "Read", arguments: { file_path: notes } },
    { name: "exec_command", arguments: { cmd: "cat notes.txt" } },
    { name: "read", arguments: { filePath: notes } },
  ]
  emu = await startVllm({ reply: REPLY, toolRoundTrip: true, chunks: 3, toolCalls: tools, models: [{ id: "qwen3-coder", contextLength: 32768 }] })
  nexus = await startNexus({ routing: { aliases: { "claude-*": "qwen3-coder", "coder": "qwen3-coder" } }, backends: [backend("vllm", emu.url, "vllm")] })
  seedOpencodeHome(box.home)
})

afterAll(async () => {
  await nexus.stop(0)
  await emu.stop()
})

/** `nexus launch ...` in the sandbox, the agents on its PATH. */
const launch = (args: string[], b = box) => runAgent([process.execPath, MAIN, "launch", ...args], { ...b, env: { NEXUS_URL: nexus.url } })

/** The exports `--print` wrote, as a map. */
function exports(stdout: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of stdout.matchAll(/^export (\w+)=(.*)$/gm)) out[m[1]!] = m[2]!.startsWith("'") ? m[2]!.slice(1, -1).replaceAll(`'\\''`, "'") : m[2]!
  return out
}

describe("nexus launch --print", () => {
  test("claude: the gateway's address, the served model for every Claude Code model choice, its window and output limit", async () => {
    // `coder` is an alias: Claude Code gets the served name, whose window it does not presume to know.
    const run = await launch(["claude", "--model", "coder", "--print", "--", "-p", "hi there"])
    expect(run.code, run.stderr).toBe(0)
    const env = exports(run.stdout)
    expect(env).toEqual({
      ANTHROPIC_BASE_URL: nexus.url,
      ANTHROPIC_AUTH_TOKEN: "nexus",
      ANTHROPIC_MODEL: "qwen3-coder",
      ANTHROPIC_DEFAULT_FABLE_MODEL: "qwen3-coder",
      ANTHROPIC_DEFAULT_OPUS_MODEL: "qwen3-coder",
      ANTHROPIC_DEFAULT_SONNET_MODEL: "qwen3-coder",
      ANTHROPIC_DEFAULT_HAIKU_MODEL: "qwen3-coder",
      CLAUDE_CODE_SUBAGENT_MODEL: "qwen3-coder",
      CLAUDE_CODE_MAX_CONTEXT_TOKENS: "32768",
      CLAUDE_CODE_MAX_OUTPUT_TOKENS: "8192",
    })
    expect(run.stdout.trimEnd().split("\n").at(-1)).toBe("claude -p 'hi there'")
  })

  test("codex: the Responses provider at the gateway, the model, its window and compaction limit", async () => {
    const run = await launch(["codex", "--model", "coder", "--print", "--", "exec", "hi"])
    expect(run.code, run.stderr).toBe(0)
    expect(exports(run.stdout)).toEqual({ NEXUS_API_KEY: "nexus" })
    const provider = `model_providers.nexus={name="nexus",base_url="${nexus.url}/v1",env_key="NEXUS_API_KEY",wire_api="responses"}`
    const command = ["codex", "-c", "model_provider=nexus", "-c", provider, "-c", 'model="coder"', "-c", "model_context_window=32768", "-c", "model_auto_compact_token_limit=24576", "exec", "hi"]
    expect(run.stdout.trimEnd().split("\n").at(-1)).toBe(command.map(shellQuote).join(" "))
  })

  test("opencode: a provider config with the model's limits; without --model, every model served", async () => {
    const run = await launch(["opencode", "--model", "coder", "--print"])
    expect(run.code, run.stderr).toBe(0)
    const config = JSON.parse(exports(run.stdout).OPENCODE_CONFIG_CONTENT!)
    expect(config.model).toBe("nexus/coder")
    expect(config.provider.nexus).toEqual({
      npm: "@ai-sdk/openai-compatible",
      name: "Nexus",
      options: { baseURL: `${nexus.url}/v1`, apiKey: "nexus" },
      models: { coder: { limit: { context: 32768, output: 8192 } } },
    })
    const all = JSON.parse(exports((await launch(["opencode", "--print"])).stdout).OPENCODE_CONFIG_CONTENT!)
    expect(all.model).toBeUndefined()
    // The listing's names: the served model and the exact alias configured for it.
    expect(all.provider.nexus.models).toEqual({ "qwen3-coder": { limit: { context: 32768, output: 8192 } }, coder: { limit: { context: 32768, output: 8192 } } })
  })

  test("a model the gateway does not serve, and an unknown agent, are refused with the reason", async () => {
    const missing = await launch(["claude", "--model", "no-such-model", "--print"])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain("Model 'no-such-model' not found")
    const unknown = await launch(["vim", "--print"])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("Choose one of: claude, codex, opencode")
  })
})

describe("nexus launch starts the agent through the gateway", () => {
  const served = () => emu.stats.bodies.map((b) => JSON.parse(b) as { max_tokens?: number; messages: unknown[] })
  /** `nexus launch ...` answers the prompt from the file it read; the requests the backend got meanwhile. */
  async function roundTrip(args: string[]) {
    const before = emu.stats.bodies.length
    const run = await launch(args)
    expect(run.code, run.stderr + run.stdout).toBe(0)
    expect(run.stdout).toContain(REPLY)
    expect(run.stdout).toContain(SECRET)
    return served().slice(before)
  }
  /** Every request carried the output limit `nexus launch` gave the agent. */
  function expectOutputLimit(bodies: ReturnType<typeof served>) {
    expect(bodies.length).toBeGreaterThanOrEqual(2)
    for (const b of bodies) expect(b.max_tokens).toBe(8192)
  }

  test.skipIf(lacking("the claude CLI is not installed", agentBin("claude")))("claude -p: one tool round trip, with the output limit it was given", async () => {
    expectOutputLimit(await roundTrip(["claude", "--model", "coder", "--", "-p", PROMPT, "--allowedTools", "Read"]))
  }, 120_000)

  test.skipIf(lacking("the codex CLI is not installed", agentBin("codex")))("codex exec: one tool round trip", async () => {
    await roundTrip(["codex", "--model", "coder", "--", "exec", "--skip-git-repo-check", PROMPT])
    expect(nexus.logs.filter((l) => l.msg === "request" && l.model === "coder").length).toBeGreaterThanOrEqual(2)
  }, 120_000)

  test.skipIf(lacking("the opencode CLI is not installed", agentBin("opencode")))("opencode run: one tool round trip, with the output limit of its config", async () => {
    expectOutputLimit(await roundTrip(["opencode", "--model", "coder", "--", "run", PROMPT]))
  }, 120_000)

  test.skipIf(lacking("the claude CLI is not installed", agentBin("claude")))("Claude Code compacts at the local window it was given, and only then", async () => {
    const big = bigBox()
    const bigEmu = await startVllm({ reply: REPLY, toolRoundTrip: true, chunks: 3, toolCalls: [{ name: "Read", arguments: { file_path: join(big.cwd, "notes.txt") } }], models: [{ id: "qwen3-coder", contextLength: 32768 }] })
    const bigNexus = await startNexus({ backends: [backend("vllm", bigEmu.url, "vllm")] })
    try {
      const compactions = () => bigEmu.stats.bodies.filter((b) => b.includes(COMPACTION)).length
      const args = ["-p", PROMPT, "--allowedTools", "Read"]
      // Unaided: the same model by name, no window given.
      await runAgent([agentBin("claude")!, "--model", "qwen3-coder", ...args], { ...big, env: { ANTHROPIC_BASE_URL: bigNexus.url, ANTHROPIC_AUTH_TOKEN: "nexus" } })
      expect(bigEmu.stats.bodies.length).toBeGreaterThanOrEqual(2)
      expect(compactions()).toBe(0)
      await runAgent([process.execPath, MAIN, "launch", "claude", "--model", "qwen3-coder", "--url", bigNexus.url, "--", ...args], big)
      expect(compactions()).toBeGreaterThanOrEqual(1)
    } finally {
      await bigNexus.stop(0)
      await bigEmu.stop()
    }
  }, 180_000)

  test.skipIf(lacking("the codex CLI is not installed", agentBin("codex")))("Codex compacts at the limit it was given; unaided it does not", async () => {
    // Codex cuts the file's output to ~2.6k tokens: its prompt reaches ~7.4k after reading it,
    // past the launcher's limit for a 9.2k window (6.9k), while it still fits the window itself.
    const big = bigBox()
    const bigEmu = await startLlamacpp({ reply: REPLY, toolRoundTrip: true, chunks: 3, nCtx: 9200, toolCalls: [{ name: "exec_command", arguments: { cmd: "cat notes.txt" } }], models: [{ id: "qwen3-coder", contextLength: 9200 }] })
    const bigNexus = await startNexus({ backends: [backend("llamacpp", bigEmu.url, "llamacpp")] })
    try {
      const compactions = () => bigEmu.stats.bodies.filter((b) => b.includes(CODEX_COMPACTION)).length
      const plain = await launch(["codex", "--model", "qwen3-coder", "--url", bigNexus.url, "--print"], big)
      // The same provider and model without the window: everything `--print` shows but the two limits.
      const command = plain.stdout.trimEnd().split("\n").at(-1)!.replace(/ -c model_context_window=\d+ -c model_auto_compact_token_limit=\d+/, "")
      expect(command).not.toContain("model_context_window")
      await runAgent(["sh", "-c", `${command} exec --skip-git-repo-check '${PROMPT}'`], { ...big, env: { NEXUS_API_KEY: "nexus" } })
      expect(bigEmu.stats.bodies.length).toBeGreaterThanOrEqual(1)
      expect(compactions()).toBe(0)
      // Unaided, it sent the whole conversation on, every turn served (it still fit the window).
      expect(bigNexus.logs.filter((l) => l.msg === "request").every((l) => l.status === 200)).toBe(true)
      // Launched: it compacts once its prompt passes the limit. The emulated model reads the
      // file again after every summary, so the agent would go on compacting: stop it there.
      const agent = Bun.spawn(["setsid", process.execPath, MAIN, "launch", "codex", "--model", "qwen3-coder", "--url", bigNexus.url, "--", "exec", "--skip-git-repo-check", PROMPT], {
        cwd: big.cwd,
        env: { PATH: `${BIN}:${process.env.PATH ?? ""}`, HOME: big.home, ...OFFLINE_ENV },
        stdout: "ignore",
        stderr: "ignore",
      })
      try {
        await eventually(() => compactions() >= 1, 90_000, "a compaction request")
      } finally {
        Bun.spawnSync(["pkill", "-KILL", "-s", String(agent.pid)])
      }
    } finally {
      await bigNexus.stop(0)
      await bigEmu.stop()
    }
  }, 180_000)
})
