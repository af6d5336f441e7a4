/**
 * Running the coding agents' own CLIs (from npm, pinned in devDependencies) against a
 * Nexus on loopback, non-interactively, in a throwaway HOME and working directory.
 */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ROOT } from "./process.ts"

export const BIN = join(ROOT, "node_modules/.bin")

/** The agent's executable, when `npm ci` installed it. */
export function agentBin(name: "claude" | "codex" | "cn"): string | undefined {
  const path = join(BIN, name)
  return existsSync(path) ? path : undefined
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

/** Run `cmd` to completion (stdin closed), killing it after `timeoutMs`. */
export async function runAgent(cmd: string[], opts: { cwd: string; home: string; env?: Record<string, string>; timeoutMs?: number }): Promise<AgentRun> {
  const { PATH, LANG, TERM } = process.env
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd,
    // Not the test runner's environment: no real API keys or configs reach the agents.
    env: { PATH: `${BIN}:${PATH ?? ""}`, LANG: LANG ?? "C.UTF-8", TERM: TERM ?? "dumb", HOME: opts.home, ...OFFLINE_ENV, ...opts.env },
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
