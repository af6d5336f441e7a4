/**
 * A success status without an answer: a 200 whose body is not JSON (a proxy's HTML page,
 * a cut body), or a stream that carries only an error sent to a client that asked for one
 * document. Nexus never passes either on as a 200: the next backend is tried, the failure
 * counts against the backend (errors, breaker), and with nobody left the client gets a
 * 502 in its own dialect.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import fc from "fast-check"
import { startVllm, type VllmEmulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually } from "../helpers/wait.ts"

const scope = testScope()
const MODEL = "meta-llama/Llama-3.1-8B-Instruct"
const messages = [{ role: "user", content: "Say hello" }]

type Dialect = "openai" | "anthropic" | "ollama" | "responses"
/** A non-streaming request in each client dialect. */
const REQUESTS: [Dialect, string, Record<string, unknown>][] = [
  ["openai", "/v1/chat/completions", { model: MODEL, messages }],
  ["anthropic", "/v1/messages", { model: MODEL, max_tokens: 64, messages }],
  ["ollama", "/api/chat", { model: MODEL, messages, stream: false }],
  ["responses", "/v1/responses", { model: MODEL, input: "Say hello" }],
]

/** The message of a 502 in the client's dialect, checking its envelope. */
function errorMessage(dialect: Dialect, body: Record<string, unknown>): string {
  if (dialect === "ollama") return body.error as string
  if (dialect === "anthropic") {
    expect(body.type).toBe("error")
    expect((body.error as { type: string }).type).toBe("api_error")
  } else expect((body.error as { type: string }).type).toBe("server_error")
  return (body.error as { message: string }).message
}

async function expect502(n: TestNexus, dialect: Dialect, path: string, body: unknown, reason: RegExp): Promise<void> {
  const res = await n.post(path, body)
  const text = await res.text()
  expect({ path, status: res.status }).toEqual({ path, status: 502 })
  expect(errorMessage(dialect, JSON.parse(text))).toMatch(reason)
}

describe("one backend", () => {
  let bad: VllmEmulator
  let n: TestNexus
  beforeAll(async () => {
    bad = await startVllm()
    n = await startNexus({ backends: [backend("bad", bad.url, "vllm")], routing: { circuit_breaker: { failure_threshold: 1000 } } } as never)
  })
  afterAll(async () => {
    await n.stop(0)
    await bad.stop()
  })

  test("a 200 with an HTML page is a 502 in every dialect, counted as the backend's error", async () => {
    bad.faults.invalidJson = { body: "<html><body>Gateway login required</body></html>", contentType: "text/html" }
    bad.faults.alwaysStream = undefined
    const before = n.deps.registry.get("bad")!.stats.errors
    for (const [dialect, path, body] of REQUESTS) await expect502(n, dialect, path, body, /bad: answered 200 with a body that is not a JSON document \(text\/html\)/)
    expect(n.deps.registry.get("bad")!.stats.errors).toBe(before + REQUESTS.length)
    const metrics = await (await fetch(`${n.url}/metrics`)).text()
    expect(metrics).toMatch(/nexus_requests_total\{[^}]*status="502"[^}]*\} [1-9]/)
    // The request log says so too (the dashboard and /v1/events read the same records).
    await eventually(() => n.logs.filter((l) => l.status === 502 && String(l.error ?? "").includes("not a JSON document")).length >= REQUESTS.length)
  })

  test("a stream carrying only an error, sent to a client that asked for one document, is a 502", async () => {
    bad.faults.invalidJson = undefined
    bad.faults.alwaysStream = true
    bad.faults.midStreamError = 0
    try {
      // (Responses requests go to vLLM's own /v1/responses, which honours `stream`.)
      for (const [dialect, path, body] of REQUESTS.slice(0, 3)) await expect502(n, dialect, path, body, /answered with a stream that carried only an error/)
      // Without the fault, the same stream is assembled into the document asked for.
      bad.faults.midStreamError = undefined
      const ok = await n.post("/v1/chat/completions", { model: MODEL, messages })
      expect(ok.status).toBe(200)
      expect(((await ok.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toContain("Hello")
    } finally {
      bad.faults.alwaysStream = undefined
      bad.faults.midStreamError = undefined
    }
  })

  test("for every body that is not a JSON object, in every dialect: a 502, never a 200", async () => {
    bad.faults.alwaysStream = undefined
    const notObject = (s: string) => {
      try {
        const v = JSON.parse(s)
        return typeof v !== "object" || v === null || Array.isArray(v)
      } catch {
        return true
      }
    }
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json().map((j) => j.slice(0, Math.max(0, j.length - 1))), // cut short
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.constantFrom("", " ", "<!DOCTYPE html><html></html>", "OK", "null", "[]", '{"id":"chatcmpl-1"')
    ).filter(notObject)
    const type = fc.constantFrom("application/json", "text/html; charset=utf-8", "text/plain", "application/octet-stream")
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...REQUESTS), body, type, async ([dialect, path, req], text, contentType) => {
        bad.faults.invalidJson = { body: text, contentType }
        await expect502(n, dialect, path, req, /not a JSON document/)
      }),
      { numRuns: 200 }
    )
    bad.faults.invalidJson = undefined
  })
})

describe("with another backend", () => {
  test("the next backend answers, and the bad one's breaker opens", async () => {
    const bad = await scope.emulator(startVllm())
    const good = await scope.emulator(startVllm())
    const n = await scope.nexus({
      backends: [backend("bad", bad.url, "vllm", { priority: 1 }), backend("good", good.url, "vllm", { priority: 99 })],
      routing: { circuit_breaker: { failure_threshold: 2, cooldown_seconds: 60 } },
    } as never)
    bad.faults.invalidJson = { body: "upstream connect error or disconnect/reset before headers", contentType: "text/plain" }
    for (const [, path, body] of REQUESTS.slice(0, 2)) {
      const res = await n.post(path, body)
      expect(res.status).toBe(200)
      expect(res.headers.get("x-nexus-backend")).toBe("good")
      expect(res.headers.get("x-nexus-route-reason")).toBe("failover")
      await res.body?.cancel()
    }
    const metrics = await (await fetch(`${n.url}/metrics`)).text()
    expect(metrics).toContain('nexus_failovers_total{backend="bad"} 2')
    // Two failures opened its breaker: the third request does not even try it.
    const requestsBefore = bad.stats.requests
    const third = await n.post(REQUESTS[0]![1], REQUESTS[0]![2])
    expect(third.headers.get("x-nexus-backend")).toBe("good")
    expect(third.headers.get("x-nexus-route-reason")).not.toBe("failover")
    expect(bad.stats.requests).toBe(requestsBefore)
  })
})
