/**
 * OpenCode (`opencode run`, its npm release pinned in devDependencies) with the coding-agents guide's
 * `opencode.json`: Nexus as an OpenAI-compatible provider, whose package is bundled in the
 * binary. One tool round trip (the model asks OpenCode's `read` tool for a file, the answer
 * carries what it read) through Nexus to an OpenAI-compatible server (vLLM), to Ollama and
 * to Anthropic (Nexus translates both ways). OpenCode stays on loopback: its HTTPS proxy is
 * a recorder that answers nothing, and the test checks nothing asked it for anything.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { startAnthropic, startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { agentBin, agentVersion, egressRecorder, runAgent, sandbox, seedOpencodeHome } from "../helpers/agents.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { lacking } from "../helpers/skip.ts"

const SECRET = "The secret word is OSPREY-9."
const REPLY = "Emulated model here; the file says:"
const PROMPT = "What is the secret word in notes.txt?"
const ANTHROPIC_KEY = "sk-ant-opencode-1"
const opencode = agentBin("opencode")
const VERSION = opencode ? agentVersion("opencode-ai") : "(not installed)"

const box = sandbox({ "notes.txt": `${SECRET}\n` })
const notes = join(box.cwd, "notes.txt")
const agent = { reply: REPLY, toolRoundTrip: true, chunks: 3, toolCalls: [{ name: "read", arguments: { filePath: notes } }] }
/** Each backend type, the model OpenCode asks for there, and its emulator. */
const BACKENDS = [
  { kind: "vllm", model: "qwen3-coder" },
  { kind: "ollama", model: "qwen3-coder:30b" },
  { kind: "anthropic", model: "claude-sonnet-5-5" },
] as const
const emus = {} as Record<(typeof BACKENDS)[number]["kind"], Emulator>
let nexus: TestNexus
const egress = egressRecorder()

beforeAll(async () => {
  emus.vllm = await startVllm({ ...agent, models: [{ id: "qwen3-coder", contextLength: 65536 }] })
  emus.ollama = await startOllama({ ...agent, models: [{ id: "qwen3-coder:30b", capabilities: ["completion", "tools"] }] })
  emus.anthropic = await startAnthropic({ ...agent, apiKey: ANTHROPIC_KEY, models: ["claude-sonnet-5-5"] })
  nexus = await startNexus(
    {
      backends: [
        backend("vllm", emus.vllm.url, "vllm"),
        backend("ollama", emus.ollama.url, "ollama"),
        backend("claude", emus.anthropic.url, "anthropic", { api_key_env: "OPENCODE_TEST_ANTHROPIC_KEY" }),
      ],
    },
    { env: { OPENCODE_TEST_ANTHROPIC_KEY: ANTHROPIC_KEY } }
  )
  seedOpencodeHome(box.home)
  writeFileSync(join(box.cwd, "opencode.json"), opencodeConfig(nexus.url, BACKENDS.map((b) => b.model)))
})

afterAll(async () => {
  egress.stop()
  await nexus?.stop(0)
  await Promise.all(Object.values(emus).map((e) => e.stop()))
})

/** The coding-agents guide's OpenCode config, pointed at this Nexus and listing these models. */
function opencodeConfig(url: string, models: readonly string[]): string {
  const section = readFileSync(join(import.meta.dir, "../../docs/coding-agents.md"), "utf8").split("**OpenCode**")[1]!
  const config = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!) as { provider: { nexus: { options: { baseURL: string }; models: Record<string, unknown> } } }
  const provider = config.provider.nexus
  const limits = Object.values(provider.models)[0]
  provider.options.baseURL = `${url}/v1`
  provider.models = Object.fromEntries(models.map((m) => [m, limits]))
  return JSON.stringify(config, null, 2)
}

describe.skipIf(lacking("the opencode CLI is not installed", opencode))(`OpenCode ${VERSION} (opencode run, OpenAI-compatible provider) through Nexus`, () => {
  for (const { kind, model } of BACKENDS) {
    test(`reads a file with its read tool and answers, served by ${kind}`, async () => {
      const emu = emus[kind]
      const before = emu.stats.bodies.length
      const run = await runAgent([opencode!, "run", "-m", `nexus/${model}`, PROMPT], {
        ...box,
        env: {
          HTTP_PROXY: egress.url,
          HTTPS_PROXY: egress.url,
          http_proxy: egress.url,
          https_proxy: egress.url,
          XDG_CONFIG_HOME: join(box.home, ".config"),
          XDG_DATA_HOME: join(box.home, ".local/share"),
          XDG_CACHE_HOME: join(box.home, ".cache"),
          XDG_STATE_HOME: join(box.home, ".local/state"),
        },
      })
      expect(run.code, run.stderr + run.stdout).toBe(0)
      expect(run.stdout).toContain(REPLY)
      expect(run.stdout).toContain(SECRET)
      // The tool's output went back to the model in its server's own shape.
      const bodies = emu.stats.bodies.slice(before)
      expect(bodies.length).toBeGreaterThanOrEqual(2)
      expect(bodies.at(-1)).toContain(SECRET)
      const served = nexus.logs.filter((l) => l.msg === "request" && l.model === model)
      expect(served.length).toBeGreaterThanOrEqual(2)
      expect(served.every((l) => l.status === 200 && l.backend === (kind === "anthropic" ? "claude" : kind))).toBe(true)
      expect(egress.tried).toEqual([])
    }, 120_000)
  }
})

test("the coding-agents guide's OpenCode config names the bundled OpenAI-compatible provider and limits", () => {
  const config = JSON.parse(opencodeConfig("http://x", ["m"])) as { autoupdate: boolean; share: string; provider: { nexus: { npm: string; models: { m: { limit: { context: number; output: number } } } } } }
  expect(config.provider.nexus.npm).toBe("@ai-sdk/openai-compatible")
  expect(config.provider.nexus.models.m.limit.context).toBeGreaterThan(config.provider.nexus.models.m.limit.output)
  expect(config.autoupdate).toBe(false)
  expect(config.share).toBe("disabled")
})
