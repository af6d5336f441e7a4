/**
 * Codex CLI with a custom Responses provider (`wire_api = "responses"`) pointed at Nexus,
 * in front of a vLLM too old to have `/v1/responses`: Nexus learns that from the first
 * refusal and translates, and Codex completes a tool round trip without seeing an error,
 * the model's reasoning arriving as reasoning items.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { startVllm, type Emulator } from "../../emulators/index.ts"
import { agentBin, runAgent, sandbox } from "../helpers/agents.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { lacking } from "../helpers/skip.ts"

const SECRET = "The secret word is PELICAN-42."
const REPLY = "Emulated model here; the file says:"
const codex = agentBin("codex")
let nexus: TestNexus
let vllm: Emulator
const box = sandbox({ "notes.txt": `${SECRET}\n` })

beforeAll(async () => {
  vllm = await startVllm({
    reply: REPLY,
    reasoning: "The user wants the file read; I will cat it.",
    toolRoundTrip: true,
    chunks: 4,
    noResponses: true,
    models: ["qwen2.5-coder-codex"],
    toolCalls: [{ name: "exec_command", arguments: { cmd: "cat notes.txt" } }],
  })
  nexus = await startNexus({ routing: { aliases: { "gpt-5*": "qwen2.5-coder-codex" } }, backends: [backend("old-vllm", vllm.url, "vllm")] })
})

afterAll(async () => {
  await nexus.stop(0)
  await vllm.stop()
})

test.skipIf(lacking("the codex CLI is not installed", codex))("codex exec completes a tool round trip on a vLLM without /v1/responses", async () => {
  const provider = `model_providers.nexus={name="Nexus",base_url="${nexus.url}/v1",env_key="NEXUS_API_KEY",wire_api="responses"}`
  const run = await runAgent([codex!, "exec", "--skip-git-repo-check", "-c", "model_provider=nexus", "-c", provider, "-m", "gpt-5-codex", "What is the secret word in notes.txt?"], {
    ...box,
    env: { NEXUS_API_KEY: "nexus" },
  })
  expect(run.code, run.stderr).toBe(0)
  expect(run.stdout).toContain(REPLY)
  expect(run.stdout).toContain(SECRET)
  // One refusal taught Nexus the route is missing; every turn then went to chat completions.
  expect(vllm.stats.byPath["/v1/responses"]).toBe(1)
  expect(vllm.stats.byPath["/v1/chat/completions"]).toBeGreaterThanOrEqual(2)
  const served = nexus.logs.filter((l) => l.msg === "request" && l.model === "gpt-5-codex")
  expect(served.length).toBeGreaterThanOrEqual(2)
  expect(served.every((l) => l.status === 200)).toBe(true)
}, 120_000)
