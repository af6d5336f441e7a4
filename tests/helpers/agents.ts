/**
 * Running the coding agents' own CLIs (from npm, pinned in devDependencies) against a
 * Nexus on loopback, non-interactively, in a throwaway HOME and working directory.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ROOT } from "./process.ts"

export const BIN = join(ROOT, "node_modules/.bin")

/**
 * OpenCode comes as its Linux x64 binary package (an optional dependency): the `opencode-ai`
 * wrapper lists every platform's package, and the registry this project installs from
 * carries only some of them, which `npm ci` refuses.
 */
const OPENCODE_PACKAGE = "opencode-linux-x64"
const OPENCODE_BIN = join(ROOT, "node_modules", OPENCODE_PACKAGE, "bin")

/** The agent's executable, when `npm ci` installed it. */
export function agentBin(name: "claude" | "codex" | "cn" | "opencode"): string | undefined {
  const path = name === "opencode" ? join(OPENCODE_BIN, "opencode") : join(BIN, name)
  return existsSync(path) ? path : undefined
}

/** The installed version of an agent's npm package. */
export function agentVersion(pkg: string): string {
  const name = pkg === "opencode-ai" ? OPENCODE_PACKAGE : pkg
  return (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version
}

/**
 * What keeps every agent on loopback: their own switches for updates, telemetry and error
 * reports, and a proxy that does not exist for anything that is not loopback, so a call
 * to the internet fails at once instead of leaving the machine.
 */
export const OFFLINE_ENV: Record<string, string> = {
  HTTP_PROXY: "http://127.0.0.1:9",
  HTTPS_PROXY: "http://127.0.0.1:9",
  http_proxy: "http://127.0.0.1:9",
  https_proxy: "http://127.0.0.1:9",
  NO_PROXY: "127.0.0.1,localhost",
  no_proxy: "127.0.0.1,localhost",
  // Claude Code
  DISABLE_AUTOUPDATER: "1",
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
  DISABLE_TELEMETRY: "1",
  DISABLE_ERROR_REPORTING: "1",
  DISABLE_BUG_COMMAND: "1",
  CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY: "1",
  // Continue
  CONTINUE_CLI_ENABLE_TELEMETRY: "0",
  CONTINUE_METRICS_ENABLED: "0",
  // OpenCode: its models.dev catalogue, self-update, share links and LSP server downloads
  OPENCODE_DISABLE_MODELS_FETCH: "1",
  OPENCODE_DISABLE_AUTOUPDATE: "1",
  OPENCODE_DISABLE_SHARE: "1",
  OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
  // Any OpenTelemetry exporter
  OTEL_SDK_DISABLED: "true",
  NO_COLOR: "1",
  CI: "1",
}

export interface AgentRun {
  code: number
  stdout: string
  stderr: string
}

/** A fresh HOME and a project directory holding `files`. */
export function sandbox(files: Record<string, string> = {}): { home: string; cwd: string } {
  const home = mkdtempSync(join(tmpdir(), "nexus-agent-home-"))
  const cwd = mkdtempSync(join(tmpdir(), "nexus-agent-proj-"))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(cwd, name), text)
  return { home, cwd }
}

/**
 * OpenCode installs `@opencode-ai/plugin` from npm into its global config directory on
 * every start unless that directory's lockfile already lists it (it then trusts what is
 * there and never asks the registry); this writes that lockfile into a sandbox HOME, so
 * OpenCode has nothing to fetch. Its own tools and bundled providers need no plugin.
 */
export function seedOpencodeHome(home: string): void {
  const dir = join(home, ".config/opencode")
  mkdirSync(join(dir, "node_modules"), { recursive: true })
  const deps = { dependencies: { "@opencode-ai/plugin": agentVersion("opencode-ai") } }
  writeFileSync(join(dir, "package.json"), JSON.stringify(deps))
  writeFileSync(join(dir, "package-lock.json"), JSON.stringify({ lockfileVersion: 3, packages: { "": deps } }))
}

/**
 * A stand-in HTTP proxy on loopback that answers nothing and remembers each target asked
 * of it (`CONNECT host:port` or the absolute URL). Agents compiled with Bun honour
 * HTTPS_PROXY, so pointing it here both keeps them offline and shows what they tried.
 */
export function egressRecorder(): { url: string; tried: string[]; stop: () => void } {
  const tried: string[] = []
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket, data) {
        const [method, target] = data.toString("latin1").split("\r\n", 1)[0]!.split(" ")
        if (method && target) tried.push(target)
        socket.end()
      },
    },
  })
  return { url: `http://127.0.0.1:${server.port}`, tried, stop: () => server.stop(true) }
}

/** Run `cmd` to completion (stdin closed), killing it after `timeoutMs`. */
export async function runAgent(cmd: string[], opts: { cwd: string; home: string; env?: Record<string, string>; timeoutMs?: number }): Promise<AgentRun> {
  const { PATH, LANG, TERM } = process.env
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd,
    // Not the test runner's environment: no real API keys or configs reach the agents.
    env: { PATH: `${BIN}:${OPENCODE_BIN}:${PATH ?? ""}`, LANG: LANG ?? "C.UTF-8", TERM: TERM ?? "dumb", HOME: opts.home, ...OFFLINE_ENV, ...opts.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  })
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 90_000)
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  const code = await proc.exited
  clearTimeout(timer)
  return { code, stdout, stderr }
}
