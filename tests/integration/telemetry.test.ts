/**
 * What operators see: /v1/models, /health, /metrics, /v1/stats and the request log.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { startLlamacpp, startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, chat, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { eventually } from "../helpers/wait.ts"

let nexus: TestNexus
let ollama: Emulator
let vllm: Emulator
let llama: Awaited<ReturnType<typeof startLlamacpp>>

beforeAll(async () => {
  ollama = await startOllama({
    models: [
      { id: "llama3.2:latest", contextLength: 131072, capabilities: ["completion", "tools"] },
      { id: "llava:7b", contextLength: 4096, capabilities: ["completion", "vision"], loaded: false },
      { id: "nomic-embed-text:latest", contextLength: 2048, capabilities: ["embedding"] },
    ],
    withTagCapabilities: false, // old Ollama: facts come from /api/show
  })
  vllm = await startVllm({ models: [{ id: "llama3.2:latest", contextLength: 8192 }, { id: "meta-llama/Llama-3.1-8B-Instruct" }] })
  llama = await startLlamacpp({ models: ["gemma"], loading: true })
  nexus = await startNexus({
    health_check: { interval_seconds: 0.2, recovery_threshold: 1 },
    backends: [
      backend("ollama", ollama.url, "ollama", { priority: 1 }),
      backend("vllm", vllm.url, "vllm", { priority: 2 }),
      backend("llama", llama.url, "llamacpp"),
    ],
  })
})

afterAll(async () => {
  await nexus.stop(0)
  await Promise.all([ollama.stop(), vllm.stop(), llama.stop()])
})

type ModelEntry = { id: string; owned_by: string; context_length: number | null; capabilities: Record<string, boolean | null>; backends: string[]; loaded: boolean | null }

describe("models", () => {
  test("one entry per model id across healthy backends, with what is known of it", async () => {
    const { data } = (await (await nexus.get("/v1/models")).json()) as { data: ModelEntry[] }
    expect(data.map((m) => m.id)).toEqual(["llama3.2:latest", "llava:7b", "meta-llama/Llama-3.1-8B-Instruct", "nomic-embed-text:latest"])
    const llama32 = data.find((m) => m.id === "llama3.2:latest")!
    expect(llama32.backends).toEqual(["ollama", "vllm"])
    expect(llama32.owned_by).toBe("ollama")
    expect(llama32.context_length).toBe(131072)
    expect(llama32.capabilities.tools).toBe(true)
    const llava = data.find((m) => m.id === "llava:7b")!
    expect(llava.capabilities.vision).toBe(true)
    expect(llava.loaded).toBe(false)
    expect(data.find((m) => m.id === "nomic-embed-text:latest")!.capabilities.embeddings).toBe(true)
    // /api/show is asked once per model and digest, not on every probe: two more probe
    // rounds (each asks /api/tags first, and a round starts only when the last one ended)
    // ask nothing more of it.
    const shows = ollama.stats.byPath["/api/show"]
    const tags = ollama.stats.byPath["/api/tags"]!
    await eventually(() => ollama.stats.byPath["/api/tags"]! >= tags + 2)
    expect(ollama.stats.byPath["/api/show"]).toBe(shows)
  })

  test("GET /v1/models/{id}, also with slashes, and 404 for an unknown id", async () => {
    const one = (await (await nexus.get("/v1/models/meta-llama/Llama-3.1-8B-Instruct")).json()) as ModelEntry
    expect(one.id).toBe("meta-llama/Llama-3.1-8B-Instruct")
    const missing = await nexus.get("/v1/models/nope")
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("model_not_found")
  })

  test("a loading llama.cpp is 'loading', not unhealthy, and becomes routable when it is ready", async () => {
    expect(nexus.deps.registry.get("llama")!.status).toBe("loading")
    const res = await nexus.post("/v1/chat/completions", chat("gemma"))
    expect(res.status).toBe(404) // no model list yet while it loads
    llama.setLoading(false)
    await eventually(() => nexus.deps.registry.get("llama")!.status === "healthy")
    expect((await nexus.post("/v1/chat/completions", chat("gemma"))).status).toBe(200)
  })
})

describe("health, metrics, stats and logs", () => {
  test("/health: healthy, degraded, unhealthy with counts", async () => {
    const h = (await (await nexus.get("/health")).json()) as Record<string, any>
    expect(h.status).toBe("healthy")
    expect(h.version).toBe("0.1.0")
    expect(h.uptime_seconds).toBeGreaterThanOrEqual(0)
    expect(h.backends.total).toBe(3)
    expect(h.models).toBe(5)
    const empty = await startNexus({})
    expect(((await (await empty.get("/health")).json()) as { status: string }).status).toBe("unhealthy")
    await empty.stop(0)
    vllm.faults.healthStatus = 503
    await eventually(() => nexus.deps.registry.get("vllm")!.status === "unhealthy", 5000)
    const degraded = (await (await nexus.get("/health")).json()) as Record<string, any>
    expect(degraded.status).toBe("degraded")
    expect(degraded.backends.unhealthy).toBe(1)
    vllm.faults.healthStatus = undefined
    await eventually(() => nexus.deps.registry.get("vllm")!.status === "healthy", 5000)
  })

  test("/metrics counts requests, tokens, time to first token and errors, with backend state", async () => {
    const secret = `secret-${crypto.randomUUID()}`
    await (await nexus.post("/v1/chat/completions", chat("meta-llama/Llama-3.1-8B-Instruct", { messages: [{ role: "user", content: secret }] }))).text()
    await (await nexus.post("/v1/chat/completions", chat("meta-llama/Llama-3.1-8B-Instruct", { stream: true, stream_options: { include_usage: true } }))).text()
    await (await nexus.post("/v1/chat/completions", chat("missing-model"))).text()
    const text = await (await nexus.get("/metrics")).text()
    const value = (prefix: string) => Number(text.split("\n").find((l) => l.startsWith(prefix))?.split(" ").pop())
    expect(value('nexus_requests_total{model="meta-llama/Llama-3.1-8B-Instruct",backend="vllm",status="200",stream="false"}')).toBe(1)
    expect(value('nexus_requests_total{model="meta-llama/Llama-3.1-8B-Instruct",backend="vllm",status="200",stream="true"}')).toBe(1)
    expect(value('nexus_tokens_total{model="meta-llama/Llama-3.1-8B-Instruct",backend="vllm",type="completion"}')).toBe(16)
    expect(value('nexus_time_to_first_token_seconds_count{model="meta-llama/Llama-3.1-8B-Instruct",backend="vllm"}')).toBe(2)
    expect(value('nexus_backend_healthy{backend="vllm",type="vllm"}')).toBe(1)
    expect(value('nexus_backend_in_flight{backend="vllm"}')).toBe(0)
    expect(text).toContain("nexus_request_duration_seconds_bucket")

    const stats = (await (await nexus.get("/v1/stats")).json()) as Record<string, any>
    expect(stats.requests.total).toBeGreaterThanOrEqual(2)
    const v = stats.backends.find((b: { name: string }) => b.name === "vllm")
    expect(v.in_flight).toBe(0)
    expect(v.requests).toBeGreaterThanOrEqual(2)
    expect(stats.models.find((m: { name: string }) => m.name === "meta-llama/Llama-3.1-8B-Instruct").completion_tokens).toBe(16)

    // One log line per request, with the routing facts and never the message content.
    await eventually(() => nexus.logs.filter((l) => l.msg === "request").length >= 2)
    const line = nexus.logs.find((l) => l.msg === "request" && l.model === "meta-llama/Llama-3.1-8B-Instruct")!
    for (const key of ["request_id", "model", "backend", "status", "latency_ms", "ttft_ms", "tokens_prompt", "tokens_completion", "route_reason"]) {
      expect(line).toHaveProperty(key)
    }
    expect(JSON.stringify(nexus.logs)).not.toContain(secret)
  })

  test("status changes are logged once, at info", async () => {
    const flaky = await startVllm({ models: ["f"] })
    const n = await startNexus({ health_check: { interval_seconds: 0.05, failure_threshold: 1, recovery_threshold: 1 }, backends: [backend("flaky", flaky.url, "vllm")] })
    try {
      const checks = () => flaky.stats.byPath["/health"] ?? 0
      flaky.faults.healthStatus = 503
      await eventually(() => n.deps.registry.get("flaky")!.status === "unhealthy")
      // More failing checks while it stays down: each would log again if changes were not told apart from checks.
      const failed = checks()
      await eventually(() => checks() >= failed + 3)
      flaky.faults.healthStatus = undefined
      await eventually(() => n.deps.registry.get("flaky")!.status === "healthy")
      const down = n.logs.filter((l) => l.msg === "backend flaky is unhealthy")
      expect(down).toHaveLength(1)
      expect(down[0]).toMatchObject({ level: "info", backend: "flaky", from: "healthy", to: "unhealthy" })
      expect(n.logs.filter((l) => l.msg === "backend flaky is healthy" && l.from === "unhealthy")).toHaveLength(1)
    } finally {
      await n.stop(0)
      await flaky.stop()
    }
  })
})
