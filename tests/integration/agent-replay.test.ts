/**
 * The requests coding agents really send, replayed through Nexus to every kind of server.
 * `scripts/capture-agents.ts` recorded them (method, path, headers, body exactly as each
 * agent version sent them) under `tests/fixtures/agents/<agent>-<version>/`; here each one
 * goes, unchanged, to a Nexus in front of vLLM, llama.cpp, Ollama, LM Studio, Anthropic and
 * OpenAI emulators in turn, and must get a 2xx answer that is well formed in the agent's
 * own dialect: streamed when it asked for a stream, a tool call or text the agent can read.
 * No agent runs here; a new agent version is covered by capturing it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { startAnthropic, startLlamacpp, startLmstudio, startOllama, startOpenai, startVllm, type Emulator, type EmulatorOptions } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"
import type { BackendConfig } from "../../src/config/types.ts"
import { wellFormed, type Dialect } from "../helpers/agent-dialects.ts"

interface Fixture {
  agent: string
  file: string
  method: string
  path: string
  headers: Record<string, string>
  body?: string
}

const DIR = join(import.meta.dir, "../fixtures/agents")
const FIXTURES: Fixture[] = readdirSync(DIR)
  .sort()
  .flatMap((agent) =>
    readdirSync(join(DIR, agent))
      .sort()
      .map((file) => ({ agent, file, ...(JSON.parse(readFileSync(join(DIR, agent, file), "utf8")) as Omit<Fixture, "agent" | "file">) }))
  )
const REPLY = "Replayed answer."
const KEY = "sk-replay-1"
/** Every model an agent asked for: each is an alias of the one model a server serves. */
const ASKED = [...new Set(FIXTURES.flatMap((f) => (f.body ? [(JSON.parse(f.body) as { model?: string }).model] : [])).filter((m): m is string => !!m))]
/** The read-a-file tool of every agent captured; a server calls the first one a request offers. */
const TOOLS = [
  { name: "Read", arguments: { file_path: "/home/user/project/notes.txt" } },
  { name: "exec_command", arguments: { cmd: "cat notes.txt" } },
  { name: "read", arguments: { filePath: "/home/user/project/notes.txt" } },
]
const emuOpts = (model: string): EmulatorOptions => ({ reply: REPLY, toolRoundTrip: true, chunks: 1, toolCalls: TOOLS, models: [{ id: model, contextLength: 131072 }] })

/** Each server type, how to start it, and the backend entry Nexus gets for it. */
const SERVERS: { type: BackendConfig["type"]; model: string; start: (model: string) => Promise<Emulator>; extra?: Partial<BackendConfig> }[] = [
  { type: "vllm", model: "replay-local", start: (m) => startVllm(emuOpts(m)) },
  { type: "llamacpp", model: "replay-local", start: (m) => startLlamacpp({ ...emuOpts(m), nCtx: 131072 }) },
  { type: "ollama", model: "replay-local:latest", start: (m) => startOllama({ ...emuOpts(m), models: [{ id: m, contextLength: 131072, capabilities: ["completion", "tools"] }] }) },
  { type: "lmstudio", model: "replay-local", start: (m) => startLmstudio({ ...emuOpts(m), loadedContextLength: 131072 }) },
  { type: "anthropic", model: "claude-replay-1", start: (m) => startAnthropic({ ...emuOpts(m), apiKey: KEY }), extra: { api_key_env: "REPLAY_TEST_KEY" } },
  { type: "openai", model: "gpt-replay-1", start: (m) => startOpenai({ ...emuOpts(m), apiKey: KEY }), extra: { api_key_env: "REPLAY_TEST_KEY" } },
]

const running: { type: string; emu: Emulator; nexus: TestNexus }[] = []

beforeAll(async () => {
  for (const s of SERVERS) {
    const emu = await s.start(s.model)
    const aliases = Object.fromEntries(ASKED.filter((m) => m !== s.model).map((m) => [m, s.model]))
    const nexus = await startNexus({ routing: { aliases }, backends: [backend(s.type, emu.url, s.type, s.extra)] }, { env: { REPLAY_TEST_KEY: KEY } })
    running.push({ type: s.type, emu, nexus })
  }
})

afterAll(async () => {
  for (const { emu, nexus } of running) {
    await nexus.stop(0)
    await emu.stop()
  }
})

/** The dialect a request speaks, from its path. */
function dialectOf(f: Fixture): Dialect {
  const path = f.path.split("?")[0]!
  if (f.method === "GET") return "listing"
  if (path === "/v1/messages") return "anthropic"
  if (path === "/v1/responses") return "responses"
  if (path === "/api/chat") return "ollama"
  if (path === "/v1/chat/completions") return "openai"
  throw new Error(`${f.agent}/${f.file}: no dialect for ${f.method} ${path}; teach dialectOf`)
}

test("the corpus holds every agent, each with a tool round trip", () => {
  const agents = new Set(FIXTURES.map((f) => f.agent.replace(/-\d[\w.]*$/, "")))
  expect([...agents].sort()).toEqual(["claude-code", "codex", "codex-oss", "continue-ollama", "continue-openai", "opencode"])
  for (const agent of new Set(FIXTURES.map((f) => f.agent))) {
    // The last request of each agent carries the read file's content back to the model.
    const last = FIXTURES.filter((f) => f.agent === agent && f.body).at(-1)!
    expect(last.body, agent).toContain("PELICAN-42")
  }
})

describe.each(SERVERS.map((s) => s.type))("replayed through Nexus to %s", (type) => {
  for (const f of FIXTURES) {
    test(`${f.agent}/${f.file}`, async () => {
      const { nexus } = running.find((r) => r.type === type)!
      const res = await fetch(nexus.url + f.path, { method: f.method, headers: f.headers, body: f.body })
      const text = await res.text()
      expect(res.status, text.slice(0, 500)).toBeGreaterThanOrEqual(200)
      expect(res.status, text.slice(0, 500)).toBeLessThan(300)
      const asked = f.body ? (JSON.parse(f.body) as { stream?: boolean }) : {}
      // Ollama's own API streams unless told not to; the others only when asked.
      const stream = dialectOf(f) === "ollama" ? asked.stream !== false : asked.stream === true
      wellFormed(dialectOf(f), stream, res.headers.get("content-type") ?? "", text)
      if (f.method === "POST") expect(text.includes(REPLY) || TOOLS.some((t) => text.includes(t.name)), text.slice(0, 500)).toBe(true)
    })
  }
})
