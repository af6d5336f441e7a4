/**
 * Shared by the bad-input suites: one real Nexus in front of one emulated backend,
 * the routes it serves, and the one expectation every bad request shares: a 4xx in
 * the OpenAI error envelope, never a 500, never a hang.
 */
import { expect } from "bun:test"
import type { NexusConfig } from "../../src/config/types.ts"
// The only emulator import of the bad-input suites: one line to change if they move.
import { startVllm } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "./nexus.ts"

export const MODEL = "tiny"

export interface Target {
  nexus: TestNexus
  stop(): Promise<void>
}

/** Nexus with one healthy vLLM emulator serving `tiny`; `server` overrides [server]. */
export async function startTarget(server: Partial<NexusConfig["server"]> = {}): Promise<Target> {
  const vllm = await startVllm({ models: [MODEL] })
  const nexus = await startNexus({ server, backends: [backend("vllm", vllm.url, "vllm")] })
  return {
    nexus,
    async stop() {
      await nexus.stop(0)
      await vllm.stop()
    },
  }
}

/** Every route Nexus serves, with the methods it answers (HEAD comes with GET). */
export const ROUTES: { path: string; methods: string[] }[] = [
  { path: "/v1/chat/completions", methods: ["POST"] },
  { path: "/v1/completions", methods: ["POST"] },
  { path: "/v1/embeddings", methods: ["POST"] },
  { path: "/v1/models", methods: ["GET"] },
  { path: `/v1/models/${MODEL}`, methods: ["GET"] },
  { path: "/health", methods: ["GET"] },
  { path: "/metrics", methods: ["GET"] },
  { path: "/v1/stats", methods: ["GET"] },
  { path: "/v1/nexus/route", methods: ["POST"] },
  { path: "/v1/backends", methods: ["GET", "POST"] },
  { path: "/v1/backends/vllm", methods: ["GET", "DELETE"] },
  { path: "/v1/backends/vllm/drain", methods: ["POST"] },
  { path: "/v1/backends/vllm/undrain", methods: ["POST"] },
  { path: "/v1/admin/reload", methods: ["POST"] },
]

/** The routes that read a JSON body (each through the same reader and parser). */
export const JSON_ROUTES = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/nexus/route", "/v1/backends"]

export interface Envelope {
  error: { message: string; type: string; param: string | null; code: string | null }
}

/** A 4xx (or `status` exactly) whose body is the OpenAI error envelope; returns it. */
export function expectEnvelope(status: number, body: string, want?: number): Envelope {
  if (want !== undefined) expect(status).toBe(want)
  expect(status).toBeGreaterThanOrEqual(400)
  expect(status).toBeLessThan(500)
  const parsed = JSON.parse(body) as Envelope
  expect(Object.keys(parsed.error).sort()).toEqual(["code", "message", "param", "type"])
  expect(typeof parsed.error.message).toBe("string")
  expect(parsed.error.message.length).toBeGreaterThan(0)
  expect(typeof parsed.error.type).toBe("string")
  return parsed
}

/** The process still serves after whatever a suite threw at it. */
export async function expectAlive(nexus: TestNexus): Promise<void> {
  const res = await fetch(`${nexus.url}/health`)
  expect(res.status).toBe(200)
  expect(((await res.json()) as { status: string }).status).toBe("healthy")
}

/** No line at error level, and none calling a client's mistake a bug. */
export function expectNoErrorLogs(nexus: TestNexus): void {
  const bad = nexus.logs.filter((l) => l.level === "error" || String(l.msg).includes("bug"))
  expect(bad).toEqual([])
}

/** Wait for an (async) condition, polling, up to a deadline. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition not reached in time")
    await Bun.sleep(10)
  }
}
