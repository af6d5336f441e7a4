/**
 * Requests Nexus answers itself (its own 400s, unknown model or route, 405, no backend,
 * queue full) get the same record as proxied ones: one log line, the request metrics,
 * and an event on the requests bus, each with the reason.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { startOllama, type Emulator } from "../../emulators/index.ts"
import type { RequestRecord } from "../../src/core/events.ts"
import { backend, chat, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { until } from "../helpers/wait.ts"

let nexus: TestNexus
let ollama: Emulator
const records: RequestRecord[] = []

beforeAll(async () => {
  ollama = await startOllama({ models: [{ id: "llama3.2:latest" }] })
  nexus = await startNexus({ backends: [backend("ollama", ollama.url, "ollama"), backend("dead", "http://127.0.0.1:9", "vllm")] })
  nexus.deps.requests.on((r) => records.push(r))
})

afterAll(async () => {
  await nexus.stop(0)
  await ollama.stop()
})

async function recordOf(res: Response): Promise<{ record: RequestRecord; line: Record<string, unknown> }> {
  await res.arrayBuffer()
  const id = res.headers.get("x-request-id")!
  const record = records.find((r) => r.requestId === id)!
  const line = await until(() => nexus.logs.find((l) => l.msg === "request" && l.request_id === id), Boolean, { what: `log line of ${id}` })
  return { record, line: line! }
}

test.each([
  ["invalid JSON", () => nexus.post("/v1/chat/completions", "{nope"), 400, "invalid_json"],
  ["validation", () => nexus.post("/v1/chat/completions", { model: "llama3.2:latest" }), 400, undefined],
  ["unknown model", () => nexus.post("/v1/chat/completions", chat("no-such-model")), 404, "model_not_found"],
  ["unknown route", () => nexus.get("/v1/nope"), 404, "unknown_route"],
  ["wrong method", () => fetch(`${nexus.url}/v1/chat/completions`, { method: "PUT" }), 405, "method_not_allowed"],
] as const)("%s: one record, one log line, the metrics", async (_what, send, status, code) => {
  const res = await send()
  expect(res.status).toBe(status)
  const { record, line } = await recordOf(res)
  expect(record).toBeDefined()
  expect(record.status).toBe(status)
  expect(record.backend).toBeUndefined()
  expect(record.errorCode).toBeString()
  if (code) expect(record.errorCode).toBe(code)
  expect(record.error).toBeString()
  expect(line.status).toBe(status)
  expect(line.backend).toBe("none")
  expect(line.error_code).toBe(record.errorCode)
  const metrics = await (await nexus.get("/metrics")).text()
  expect(metrics).toContain(`nexus_requests_total{model="none",backend="none",status="${status}",stream="false"}`)
  expect(metrics).toMatch(/nexus_errors_total\{model="none",type="rejected"\} \d+/)
})

test("the asked model is kept in the record and the log line, not in metric labels", async () => {
  const res = await nexus.post("/v1/chat/completions", chat("made-up/model"))
  const { record, line } = await recordOf(res)
  expect(record.model).toBe("made-up/model")
  expect(record.dialect).toBe("openai")
  expect(record.operation).toBe("chat")
  expect(line.model).toBe("made-up/model")
  expect(await (await nexus.get("/metrics")).text()).not.toContain("made-up/model")
})

test("a proxied request is recorded once, by the forward path", async () => {
  const res = await nexus.post("/v1/chat/completions", chat("llama3.2:latest"))
  expect(res.status).toBe(200)
  const { record } = await recordOf(res)
  expect(record.backend).toBe("ollama")
  expect(records.filter((r) => r.requestId === record.requestId)).toHaveLength(1)
})

test("a 503 (every capable backend at capacity, no queue) is recorded with its reason", async () => {
  const slow = await startOllama({ models: [{ id: "slow-model" }], chunks: 40, chunkDelayMs: 25 })
  const busy = await startNexus({ queue: { max_size: 0 }, backends: [backend("slow", slow.url, "ollama", { max_concurrent: 1 })] })
  const seen: RequestRecord[] = []
  busy.deps.requests.on((r) => seen.push(r))
  try {
    const first = await busy.post("/v1/chat/completions", chat("slow-model", { stream: true }))
    const second = await busy.post("/v1/chat/completions", chat("slow-model"))
    expect(second.status).toBe(503)
    await second.text()
    const id = second.headers.get("x-request-id")!
    const record = seen.find((r) => r.requestId === id)!
    expect(record).toMatchObject({ status: 503, model: "slow-model" })
    expect(record.backend).toBeUndefined()
    expect(record.errorCode).toBeString()
    await first.text()
  } finally {
    await busy.stop(0)
    await slow.stop()
  }
})
