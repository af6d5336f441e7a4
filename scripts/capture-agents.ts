/**
 * `bun scripts/capture-agents.ts [agent...]`: run each installed coding agent once, with
 * the settings of docs/coding-agents.md, against a Nexus in front of an emulated server, and record every
 * request the agent sent (method, path, headers, body) into
 * `tests/fixtures/agents/<agent>-<version>/NN-<path>.json` for
 * `tests/integration/agent-replay.test.ts` to replay. A new agent version is added by
 * installing it and running this again.
 *
 * The body is kept exactly as sent, except that the throwaway HOME and project paths read
 * as /home/user and /home/user/project, so a capture does not depend on where it ran.
 * Credentials, connection headers and Codex's per-turn metadata are dropped; per-run ids
 * in headers get a fixed value (ids inside bodies stay as sent).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { startOllama, startVllm, type Emulator, type EmulatorToolCall } from "../emulators/index.ts"
import { agentBin, agentVersion, runAgent, sandbox, seedOpencodeHome } from "../tests/helpers/agents.ts"
import { backend, startNexus } from "../tests/helpers/nexus.ts"

const ROOT = new URL("..", import.meta.url).pathname
const OUT = join(ROOT, "tests/fixtures/agents")
const PROMPT = "What is the secret word in notes.txt?"
/** Requests kept per agent: its first ones cover the setup and one tool round trip. */
const MAX_REQUESTS = 6
/** Dropped: credentials, and what the connection (not the agent) decides. */
const DROP = new Set(["authorization", "x-api-key", "cookie", "host", "content-length", "connection", "accept-encoding", "keep-alive", "proxy-connection", "x-codex-turn-metadata"])
/** Kept with a fixed value: ids that differ on every run. */
const VOLATILE = new Set([
  "x-claude-code-session-id",
  "session_id",
  "session-id",
  "thread-id",
  "conversation_id",
  "x-client-request-id",
  "x-codex-window-id",
  "x-session-id",
  "x-session-affinity",
  "x-request-id",
  "traceparent",
  "tracestate",
  "baggage",
])
const FIXED_ID = "00000000-0000-4000-8000-000000000000"

export interface CapturedRequest {
  method: string
  path: string
  headers: Record<string, string>
  body?: string
}

interface AgentSpec {
  /** Fixture folder prefix; the version is appended. */
  name: string
  bin: "claude" | "codex" | "cn" | "opencode"
  pkg: string
  /** The server behind Nexus, the model it serves and the tool call it makes. */
  backend: "vllm" | "ollama"
  model: string
  aliases?: Record<string, string>
  tool: (notes: string) => EmulatorToolCall
  /** The command and its environment, given the recording address. */
  run: (url: string, box: { home: string; cwd: string }) => { cmd: string[]; env: Record<string, string> }
}

const GUIDE = readFileSync(join(ROOT, "docs/coding-agents.md"), "utf8")
const codexProviderArg = (url: string) => /'(model_providers\.nexus=\{[^']*\})'/.exec(GUIDE)![1]!.replace("http://localhost:8000", url)

const AGENTS: AgentSpec[] = [
  {
    name: "claude-code",
    bin: "claude",
    pkg: "@anthropic-ai/claude-code",
    backend: "vllm",
    model: "qwen3-coder",
    aliases: { "claude-*": "qwen3-coder" },
    tool: (notes) => ({ name: "Read", arguments: { file_path: notes } }),
    run: (url) => ({ cmd: ["-p", PROMPT, "--model", "sonnet", "--allowedTools", "Read"], env: { ANTHROPIC_BASE_URL: url, ANTHROPIC_AUTH_TOKEN: "nexus" } }),
  },
  {
    name: "codex",
    bin: "codex",
    pkg: "@openai/codex",
    backend: "vllm",
    model: "qwen3-coder",
    aliases: { "gpt-5*": "qwen3-coder" },
    tool: () => ({ name: "exec_command", arguments: { cmd: "cat notes.txt" } }),
    run: (url) => ({ cmd: ["exec", "--skip-git-repo-check", "-c", "model_provider=nexus", "-c", codexProviderArg(url), "-m", "gpt-5-codex", PROMPT], env: { NEXUS_API_KEY: "nexus" } }),
  },
  {
    name: "codex-oss",
    bin: "codex",
    pkg: "@openai/codex",
    backend: "ollama",
    model: "gpt-oss:20b",
    tool: () => ({ name: "exec_command", arguments: { cmd: "cat notes.txt" } }),
    run: (url) => ({ cmd: ["exec", "--skip-git-repo-check", "--oss", "--local-provider", "ollama", PROMPT], env: { CODEX_OSS_BASE_URL: `${url}/v1` } }),
  },
  ...(["openai", "ollama"] as const).map(
    (provider): AgentSpec => ({
      name: `continue-${provider}`,
      bin: "cn",
      pkg: "@continuedev/cli",
      backend: provider === "openai" ? "vllm" : "ollama",
      model: "qwen2.5-coder:7b",
      tool: () => ({ name: "Read", arguments: { filepath: "notes.txt" } }),
      run: (url, box) => {
        const config = join(box.home, "continue.yaml")
        const yaml = /```yaml\n([\s\S]*?)```/.exec(GUIDE)![1]!
        writeFileSync(config, yaml.replace(/provider: openai.*/, `provider: ${provider}`).replace(/apiBase: .*/, `apiBase: ${provider === "openai" ? `${url}/v1` : url}`))
        return { cmd: ["-p", PROMPT, "--config", config], env: { NODE_OPTIONS: `--require ${join(ROOT, "tests/helpers/loopback-only.cjs")}` } }
      },
    })
  ),
  {
    name: "opencode",
    bin: "opencode",
    pkg: "opencode-ai",
    backend: "vllm",
    model: "qwen3-coder",
    tool: (notes) => ({ name: "read", arguments: { filePath: notes } }),
    run: (url, box) => {
      const section = GUIDE.split("**OpenCode**")[1]!
      const config = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!)
      config.model = "nexus/qwen3-coder"
      config.provider.nexus.options.baseURL = `${url}/v1`
      config.provider.nexus.models = { "qwen3-coder": Object.values(config.provider.nexus.models)[0] }
      writeFileSync(join(box.cwd, "opencode.json"), JSON.stringify(config, null, 2))
      seedOpencodeHome(box.home)
      return { cmd: ["run", PROMPT], env: {} }
    },
  },
]

/** The headers worth replaying, in a stable order, with per-run ids fixed. */
export function normaliseHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of [...headers.keys()].sort()) {
    if (DROP.has(name)) continue
    out[name] = VOLATILE.has(name) ? FIXED_ID : headers.get(name)!
  }
  return out
}

/** A loopback proxy in front of `target` that writes down each request before passing it on. */
function recorder(target: string, box: { home: string; cwd: string }) {
  const seen: CapturedRequest[] = []
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url)
      const bytes = req.body ? new Uint8Array(await req.arrayBuffer()) : undefined
      const text = bytes ? new TextDecoder().decode(bytes) : undefined
      const body = text
        ?.replaceAll(box.cwd, "/home/user/project")
        .replaceAll(box.home, "/home/user")
        .replaceAll(box.cwd.replace(/[^a-zA-Z0-9]/g, "-"), "-home-user-project")
      seen.push({ method: req.method, path: url.pathname + url.search, headers: normaliseHeaders(req.headers), ...(body !== undefined && body !== "" ? { body } : {}) })
      const headers = new Headers(req.headers)
      headers.delete("host")
      const res = await fetch(target + url.pathname + url.search, { method: req.method, headers, body: bytes, decompress: false } as RequestInit)
      return new Response(res.body, { status: res.status, headers: res.headers })
    },
  })
  return { url: `http://127.0.0.1:${server.port}`, seen, stop: () => server.stop(true) }
}

/** The file name of the n-th request: its number and its path, as one word. */
const fileName = (n: number, path: string) => `${String(n + 1).padStart(2, "0")}-${path.split("?")[0]!.replace(/^\//, "").replace(/[^a-zA-Z0-9]+/g, "-")}.json`

async function capture(spec: AgentSpec): Promise<void> {
  const bin = agentBin(spec.bin)
  if (!bin) return console.log(`${spec.name}: not installed, skipped`)
  const box = sandbox({ "notes.txt": "The secret word is PELICAN-42.\n" })
  const opts = { reply: "Emulated model here; the file says:", toolRoundTrip: true, chunks: 3, toolCalls: [spec.tool(join(box.cwd, "notes.txt"))] }
  const emu: Emulator =
    spec.backend === "vllm"
      ? await startVllm({ ...opts, models: [{ id: spec.model, contextLength: 131072 }] })
      : await startOllama({ ...opts, models: [{ id: spec.model, capabilities: ["completion", "tools"] }] })
  const nexus = await startNexus({ routing: { aliases: spec.aliases ?? {} }, backends: [backend("emulator", emu.url, spec.backend)] })
  const rec = recorder(nexus.url, box)
  try {
    const { cmd, env } = spec.run(rec.url, box)
    const run = await runAgent([bin, ...cmd], { ...box, env })
    if (run.code !== 0 || !run.stdout.includes("PELICAN-42")) throw new Error(`${spec.name} failed (exit ${run.code}):\n${run.stderr}\n${run.stdout}`)
    const dir = join(OUT, `${spec.name}-${agentVersion(spec.pkg)}`)
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    const kept = rec.seen.slice(0, MAX_REQUESTS)
    kept.forEach((r, i) => writeFileSync(join(dir, fileName(i, r.path)), `${JSON.stringify(r, null, 2)}\n`))
    console.log(`${spec.name}: ${kept.length} of ${rec.seen.length} requests -> ${dir}`)
  } finally {
    rec.stop()
    await nexus.stop(0)
    await emu.stop()
    rmSync(box.home, { recursive: true, force: true })
    rmSync(box.cwd, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const only = process.argv.slice(2)
  for (const spec of AGENTS) if (only.length === 0 || only.includes(spec.name)) await capture(spec)
}
