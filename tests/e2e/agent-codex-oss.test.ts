/**
 * Codex CLI in its `--oss` Ollama mode, as people run it against a local Ollama, pointed
 * at Nexus instead (`CODEX_OSS_BASE_URL`). Codex asks `/api/version` first and refuses an
 * Ollama older than 0.13.4, lists `/api/tags`, pulls a model it does not see, then talks
 * Responses on `/v1`. Nexus answers all of it, whether the model is on an Ollama server, an
 * OpenAI-compatible one (vLLM) or Anthropic.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { startAnthropic, startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { agentBin, runAgent, sandbox } from "../helpers/agents.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { lacking } from "../helpers/skip.ts"

const SECRET = "The secret word is PELICAN-42."
const REPLY = "Emulated model here; the file says:"
const codex = agentBin("codex")
const ANTHROPIC_KEY = "sk-ant-codex-oss-1"
let nexus: TestNexus
let ollama: Emulator
let vllm: Emulator
let anthropic: Emulator
const box = sandbox({ "notes.txt": `${SECRET}\n` })

beforeAll(async () => {
  const agent = { reply: REPLY, toolRoundTrip: true, chunks: 4, toolCalls: [{ name: "exec_command", arguments: { cmd: "cat notes.txt" } }] }
  // gpt-oss:20b is what `codex --oss` asks for when no model is given.
  ollama = await startOllama({ ...agent, models: [{ id: "gpt-oss:20b", capabilities: ["completion", "tools"] }] })
  vllm = await startVllm({ ...agent, models: ["qwen3-coder"] })
  anthropic = await startAnthropic({ ...agent, apiKey: ANTHROPIC_KEY, models: ["claude-sonnet-5-5"] })
  nexus = await startNexus(
    {
      backends: [
        backend("ollama", ollama.url, "ollama"),
        backend("vllm", vllm.url, "vllm"),
        backend("claude", anthropic.url, "anthropic", { api_key_env: "CODEX_OSS_TEST_KEY" }),
      ],
    },
    { env: { CODEX_OSS_TEST_KEY: ANTHROPIC_KEY } }
  )
})

afterAll(async () => {
  await nexus.stop(0)
  await Promise.all([ollama.stop(), vllm.stop(), anthropic.stop()])
})

test.skipIf(lacking("the codex CLI is not installed", codex))("codex exec --oss (no model given) completes a tool round trip through Nexus", async () => {
  const run = await runAgent([codex!, "exec", "--skip-git-repo-check", "--oss", "--local-provider", "ollama", "What is the secret word in notes.txt?"], {
    ...box,
    env: { CODEX_OSS_BASE_URL: `${nexus.url}/v1` },
  })
  expect(run.code, run.stderr).toBe(0)
  expect(run.stdout).toContain(REPLY)
  expect(run.stdout).toContain(SECRET)
  // Two turns reached the Ollama server: the tool call, then the answer that read its output.
  expect(ollama.stats.byPath["/v1/chat/completions"] ?? 0).toBeGreaterThanOrEqual(2)
  const served = nexus.logs.filter((l) => l.msg === "request" && l.model === "gpt-oss:20b")
  expect(served.length).toBeGreaterThanOrEqual(2)
  expect(served.every((l) => l.status === 200)).toBe(true)
}, 120_000)

for (const { model, via } of [
  { model: "qwen3-coder", via: "vllm" },
  { model: "claude-sonnet-5-5", via: "claude" },
]) {
  test.skipIf(lacking("the codex CLI is not installed", codex))(`codex exec --oss -m ${model}: the same round trip, served by ${via}`, async () => {
    const run = await runAgent([codex!, "exec", "--skip-git-repo-check", "--oss", "--local-provider", "ollama", "-m", model, "What is the secret word in notes.txt?"], {
      ...box,
      env: { CODEX_OSS_BASE_URL: `${nexus.url}/v1` },
    })
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toContain(REPLY)
    expect(run.stdout).toContain(SECRET)
    const served = nexus.logs.filter((l) => l.msg === "request" && l.model === model)
    expect(served.length).toBeGreaterThanOrEqual(2)
    expect(served.every((l) => l.status === 200 && l.backend === via)).toBe(true)
  }, 120_000)
}

test.skipIf(lacking("the codex CLI is not installed", codex))("codex --oss with a model no backend serves says what is wrong instead of pulling forever", async () => {
  const run = await runAgent([codex!, "exec", "--skip-git-repo-check", "--oss", "--local-provider", "ollama", "-m", "no-such-model:7b", "hi"], {
    ...box,
    env: { CODEX_OSS_BASE_URL: `${nexus.url}/v1` },
    timeoutMs: 60_000,
  })
  expect(run.code).not.toBe(0)
  expect(`${run.stdout}${run.stderr}`).toContain("does not download models")
}, 90_000)
