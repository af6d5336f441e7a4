/**
 * Routing and resilience under injected faults: every test drives a real Nexus over
 * HTTP in front of emulated backends whose faults are switched at run time.
 */
import { describe, expect, test } from "bun:test"
import { startOllama, startVllm, type VllmEmulator } from "../../emulators/index.ts"
import { backend, chat, type TestNexus } from "../helpers/nexus.ts"
import { spawnNexus } from "../helpers/process.ts"
import { testScope } from "../helpers/scope.ts"
import { sseData } from "../helpers/sse.ts"
import { eventually, until } from "../helpers/wait.ts"

const LOAD_CLIENT = new URL("../helpers/load-client.ts", import.meta.url).pathname

const MODEL = "m"
const scope = testScope()

async function emulators(n: number, opts: Parameters<typeof startVllm>[0] = {}): Promise<VllmEmulator[]> {
  return Promise.all(Array.from({ length: n }, () => scope.emulator(startVllm({ models: [MODEL], ...opts }))))
}
const nexus = scope.nexus

const chatReqs = (e: VllmEmulator) => e.stats.byPath["/v1/chat/completions"] ?? 0

describe("failover", () => {
  test("a 4xx is the client's: returned as is, never retried on another backend", async () => {
    const [a, b] = await emulators(2)
    a!.faults.status = 400
    const n = await nexus({
      backends: [backend("a", a!.url, "vllm", { priority: 1 }), backend("b", b!.url, "vllm", { priority: 90 })],
    })
    const res = await n.post("/v1/chat/completions", chat(MODEL))
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error.message).toBeString()
    expect(chatReqs(b!)).toBe(0)
  })

  test("408, 429 and 5xx move on to the next candidate, unseen by the client", async () => {
    for (const status of [408, 429, 500, 503]) {
      const [a, b] = await emulators(2)
      a!.faults.status = status
      const n = await nexus({
        backends: [backend("a", a!.url, "vllm", { priority: 1 }), backend("b", b!.url, "vllm", { priority: 90 })],
      })
      const res = await n.post("/v1/chat/completions", chat(MODEL))
      expect(res.status).toBe(200)
      expect(res.headers.get("x-nexus-backend")).toBe("b")
      expect(res.headers.get("x-nexus-route-reason")).toBe("failover")
      await res.text()
    }
  })

  test("a backend that hangs before its first byte is abandoned after first_byte_timeout", async () => {
    const [slow, ok] = await emulators(2)
    slow!.faults.hangBeforeHeaders = true
    const n = await nexus({
      server: { first_byte_timeout_seconds: 0.3 },
      backends: [backend("slow", slow!.url, "vllm", { priority: 1 }), backend("ok", ok!.url, "vllm", { priority: 90 })],
    })
    const res = await n.post("/v1/chat/completions", chat(MODEL, { stream: true }))
    expect(res.status).toBe(200)
    expect(res.headers.get("x-nexus-backend")).toBe("ok")
    expect((await sseData(res)).at(-1)).toBe("[DONE]")
    await eventually(() => slow!.stats.inFlight === 0 && n.inFlight() === 0)
  })

  test("nothing is retried once bytes reached the client: a death mid-stream ends with an error event and one [DONE]", async () => {
    const [a, b] = await emulators(2, { chunks: 6, chunkDelayMs: 30 })
    a!.faults.dieAfterChunks = 2
    const n = await nexus({
      backends: [backend("a", a!.url, "vllm", { priority: 1 }), backend("b", b!.url, "vllm", { priority: 90 })],
    })
    const res = await n.post("/v1/chat/completions", chat(MODEL, { stream: true }))
    expect(res.status).toBe(200)
    const data = await sseData(res)
    expect(data.at(-1)).toBe("[DONE]")
    expect(data.filter((d) => d === "[DONE]")).toHaveLength(1)
    const error = JSON.parse(data.at(-2)!)
    expect(error.error.message).toContain("a")
    expect(chatReqs(b!)).toBe(0)
    await eventually(() => n.inFlight() === 0)
  })

  test("a fallback model serves when every attempt on the primary failed", async () => {
    const [a] = await emulators(1)
    const f = await scope.emulator(startVllm({ models: ["small"] }))
    a!.faults.status = 500
    const n = await nexus({
      routing: { fallbacks: { [MODEL]: ["small"] } },
      backends: [backend("a", a!.url, "vllm"), backend("f", f.url, "vllm")],
    })
    const res = await n.post("/v1/chat/completions", chat(MODEL))
    expect(res.status).toBe(200)
    expect(res.headers.get("x-nexus-fallback-model")).toBe("small")
    expect(res.headers.get("x-nexus-model")).toBe("small")
    expect(JSON.parse(f.stats.lastRequest!.body).model).toBe("small")
    await res.text()
    const fallbacks = async () => /^nexus_fallbacks_total\{from_model="m",to_model="small"\} (\d+)$/m.exec(await (await n.get("/metrics")).text())?.[1]
    expect(await until(fallbacks, (v) => v !== undefined, { what: "the fallback counted" })).toBe("1")
  })
})

describe("capabilities, cold starts and deadlines", () => {
  test("incapable backends are excluded with their reasons, in a 400 (retrying cannot help) and its header", async () => {
    const plain = await scope.emulator(startOllama({ models: [{ id: "m", capabilities: ["completion"] }] }))
    const n = await nexus({ backends: [backend("plain", plain.url, "ollama")] })
    const vision = chat(MODEL, { messages: [{ role: "user", content: [{ type: "text", text: "what is this" }, { type: "image_url", image_url: { url: "data:image/png;base64,AA==" } }] }] })
    const res = await n.post("/v1/chat/completions", vision)
    expect(res.status).toBe(400)
    expect(((await res.clone().json()) as any).error).toMatchObject({ code: "model_not_capable", param: "model", type: "invalid_request_error" })
    expect(res.headers.get("x-nexus-rejection-reasons")).toBe("plain: model lacks vision")
    const tools = await n.post("/v1/chat/completions", chat(MODEL, { tools: [{ type: "function", function: { name: "f", parameters: {} } }] }))
    expect(((await tools.json()) as any).context.backends[0].reason).toBe("model lacks tool calling")
    expect(plain.stats.byPath["/v1/chat/completions"] ?? 0).toBe(0)
    // JSON mode is fine on Ollama: it honours response_format for every chat model.
    expect((await n.post("/v1/chat/completions", chat(MODEL, { response_format: { type: "json_object" } }))).status).toBe(200)
  })

  test("chat with a model that only does embeddings is a 400 that says so; an unhealthy capable twin makes it a 503", async () => {
    const embedOnly = await scope.emulator(startOllama({ models: [{ id: "nomic-embed-text", capabilities: ["embedding"] }] }))
    const n = await nexus({ backends: [backend("emb", embedOnly.url, "ollama")] })
    const res = await n.post("/v1/chat/completions", chat("nomic-embed-text"))
    expect(res.status).toBe(400)
    const body = (await res.json()) as any
    expect(body.error.code).toBe("model_not_capable")
    expect(body.error.message).toContain("model does not do chat (embeddings only)")
    expect(embedOnly.stats.byPath["/v1/chat/completions"] ?? 0).toBe(0)
    // The same model on a backend that is merely down: waiting may help, so 503.
    const twin = await nexus({ backends: [backend("emb", embedOnly.url, "ollama"), backend("down", "http://127.0.0.1:9", "ollama")] })
    const reg = twin.deps.registry
    reg.setModels("down", [{ id: "nomic-embed-text", capabilities: { completion: true } }])
    const mixed = await twin.post("/v1/chat/completions", chat("nomic-embed-text"))
    expect(mixed.status).toBe(503)
  })

  test("a model that is not loaded yet gets the longer cold-start allowance before failover", async () => {
    const cold = await scope.emulator(startOllama({ models: [{ id: "m", loaded: false }], latencyMs: 500 }))
    const [spare] = await emulators(1)
    const n = await nexus({
      server: { first_byte_timeout_seconds: 0.2, cold_first_byte_timeout_seconds: 5 },
      backends: [backend("cold", cold.url, "ollama", { priority: 1 }), backend("spare", spare!.url, "vllm", { priority: 90 })],
    })
    expect(n.deps.registry.get("cold")!.models.get("m")!.loaded).toBe(false)
    const res = await n.post("/v1/chat/completions", chat(MODEL))
    expect(res.headers.get("x-nexus-backend")).toBe("cold") // waited 500 ms instead of failing over at 200
    // The same latency on a warm model is cut at first_byte_timeout_seconds.
    cold.setModels([{ id: "m", loaded: true }])
    await n.deps.health.checkAll()
    const warm = await n.post("/v1/chat/completions", chat(MODEL))
    expect(warm.headers.get("x-nexus-backend")).toBe("spare")
  })

  test("the total deadline bounds every attempt together", async () => {
    const [a, b] = await emulators(2)
    a!.faults.hangBeforeHeaders = true
    b!.faults.hangBeforeHeaders = true
    const n = await nexus({
      server: { request_timeout_seconds: 0.4, first_byte_timeout_seconds: 0.3 },
      backends: [backend("a", a!.url, "vllm"), backend("b", b!.url, "vllm")],
    })
    const res = await n.post("/v1/chat/completions", chat(MODEL))
    expect(res.status).toBe(504)
    expect(((await res.json()) as any).error.code).toBe("upstream_timeout")
    await eventually(() => n.inFlight() === 0 && a!.stats.inFlight === 0 && b!.stats.inFlight === 0)
  })

  test("with the queue off, a busy backend is a 503 that says 'at capacity'", async () => {
    const [a] = await emulators(1, { latencyMs: 300 })
    const n = await nexus({ queue: { max_size: 0 }, backends: [backend("a", a!.url, "vllm", { max_concurrent: 1 })] })
    const busy = n.post("/v1/chat/completions", chat(MODEL))
    await eventually(() => a!.stats.inFlight === 1)
    const res = await n.post("/v1/chat/completions", chat(MODEL))
    expect(res.status).toBe(503)
    expect(res.headers.get("x-nexus-rejection-reasons")).toBe("a: at capacity (1/1 in flight)")
    expect((await busy).status).toBe(200)
  })
})

describe("rate limits and circuit breakers", () => {
  test("429 puts the backend in cooldown for its Retry-After; when all are limited the client gets 429", async () => {
    const [a, b] = await emulators(2)
    a!.faults.status = 429
    a!.faults.retryAfter = 30
    const n = await nexus({
      backends: [backend("a", a!.url, "vllm", { priority: 1 }), backend("b", b!.url, "vllm", { priority: 90 })],
    })
    expect((await n.post("/v1/chat/completions", chat(MODEL))).status).toBe(200)
    const before = chatReqs(a!)
    for (let i = 0; i < 5; i++) expect((await n.post("/v1/chat/completions", chat(MODEL))).status).toBe(200)
    expect(chatReqs(a!)).toBe(before) // cooling down: not asked again

    const [c, d] = await emulators(2)
    for (const e of [c!, d!]) {
      e.faults.status = 429
      e.faults.retryAfter = 7
    }
    const m = await nexus({ backends: [backend("c", c!.url, "vllm"), backend("d", d!.url, "vllm")] })
    const limited = await m.post("/v1/chat/completions", chat(MODEL))
    expect(limited.status).toBe(429)
    expect(limited.headers.get("retry-after")).toBe("7")
    expect(((await limited.json()) as any).error.code).toBe("rate_limited")
  })

  test("consecutive failures open the circuit; after the cooldown one trial decides", async () => {
    const [bad, good] = await emulators(2)
    bad!.faults.status = 500
    const n = await nexus({
      routing: { circuit_breaker: { failure_threshold: 3, cooldown_seconds: 0.5 } },
      backends: [backend("bad", bad!.url, "vllm", { priority: 1 }), backend("good", good!.url, "vllm", { priority: 90 })],
    })
    for (let i = 0; i < 3; i++) expect((await n.post("/v1/chat/completions", chat(MODEL))).status).toBe(200)
    expect(chatReqs(bad!)).toBe(3)
    for (let i = 0; i < 5; i++) expect((await n.post("/v1/chat/completions", chat(MODEL))).status).toBe(200)
    expect(chatReqs(bad!)).toBe(3) // open: skipped without being asked

    const plan = (await (await n.post("/v1/nexus/route", chat(MODEL))).json()) as any
    expect(plan.excluded[0].reason).toContain("circuit open")

    // Once the cooldown is over the plan stops excluding it: the next request is the trial.
    const excluded = async () => ((await (await n.post("/v1/nexus/route", chat(MODEL))).json()) as { excluded: unknown[] }).excluded
    await until(excluded, (list) => list.length === 0, { what: "the end of the circuit's cooldown" })
    bad!.faults.status = undefined
    const trial = await n.post("/v1/chat/completions", chat(MODEL))
    expect(trial.headers.get("x-nexus-backend")).toBe("bad") // the half-open trial
    expect(trial.status).toBe(200)
    const after = await n.post("/v1/chat/completions", chat(MODEL))
    expect(after.headers.get("x-nexus-backend")).toBe("bad") // closed again
  })

  test("client disconnects and client errors never open the circuit", async () => {
    const [a] = await emulators(1, { latencyMs: 300 })
    const n = await nexus({
      routing: { circuit_breaker: { failure_threshold: 2, cooldown_seconds: 60 } },
      backends: [backend("a", a!.url, "vllm")],
    })
    for (let i = 0; i < 3; i++) {
      const ac = new AbortController()
      const p = fetch(`${n.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify(chat(MODEL)), signal: ac.signal }).catch(() => {})
      await eventually(() => a!.stats.inFlight === 1) // it reached the backend, then the client leaves
      ac.abort()
      await p
      await eventually(() => a!.stats.inFlight === 0 && a!.stats.aborted === i + 1)
    }
    a!.faults.status = 400
    for (let i = 0; i < 3; i++) expect((await n.post("/v1/chat/completions", chat(MODEL))).status).toBe(400)
    a!.faults.status = undefined
    expect((await n.post("/v1/chat/completions", chat(MODEL))).status).toBe(200)
  })

  test("a flapping health endpoint needs failure_threshold failures to go down and recovery_threshold successes to come back", async () => {
    const [a] = await emulators(1)
    const n = await nexus({
      health_check: { interval_seconds: 0.1, failure_threshold: 2, recovery_threshold: 3 },
      backends: [backend("a", a!.url, "vllm")],
    })
    const status = () => n.deps.registry.get("a")!.status
    const seen: string[] = []
    n.deps.registry.on((e) => e.type === "status_changed" && seen.push(`${e.from}->${e.to}`))
    a!.faults.healthStatus = 503
    await eventually(() => status() === "unhealthy")
    a!.faults.healthStatus = undefined
    await eventually(() => status() === "healthy")
    expect(seen).toEqual(["healthy->unhealthy", "unhealthy->healthy"])
  })

  test("exactly failure_threshold failed probes take a backend down, exactly recovery_threshold good ones bring it back", async () => {
    const [a] = await emulators(1)
    // Probes run only when the test asks: the interval never comes round.
    const n = await nexus({ health_check: { interval_seconds: 3600, failure_threshold: 2, recovery_threshold: 3 }, backends: [backend("a", a!.url, "vllm")] })
    const probe = async () => {
      await n.deps.health.checkAll()
      return n.deps.registry.get("a")!.status
    }
    a!.faults.healthStatus = 503
    expect([await probe(), await probe()]).toEqual(["healthy", "unhealthy"])
    a!.faults.healthStatus = undefined
    expect([await probe(), await probe(), await probe()]).toEqual(["unhealthy", "unhealthy", "healthy"])
  })
})

describe("capacity queue", () => {
  test("waits for a free slot, high priority first, FIFO within a priority", async () => {
    const [a] = await emulators(1, { latencyMs: 150 })
    const n = await nexus({ backends: [backend("a", a!.url, "vllm", { max_concurrent: 1 })] })
    const order: string[] = []
    const send = (tag: string, headers: Record<string, string> = {}) =>
      n.post("/v1/chat/completions", chat(MODEL, { user: tag }), headers).then(async (r) => {
        expect(r.status).toBe(200)
        await r.text()
        order.push(tag)
      })
    const first = send("first")
    await eventually(() => a!.stats.inFlight === 1)
    const n1 = send("n1")
    await eventually(() => n.deps.queue.size === 1)
    const n2 = send("n2")
    await eventually(() => n.deps.queue.size === 2)
    const h = send("h", { "x-nexus-priority": "high" })
    await eventually(() => n.deps.queue.size === 3)
    await Promise.all([first, n1, n2, h])
    expect(order).toEqual(["first", "h", "n1", "n2"])
    await eventually(() => n.inFlight() === 0 && n.deps.queue.size === 0)
  })

  test("a full queue answers 503 at once; an expired wait answers 503 with Retry-After", async () => {
    const [a] = await emulators(1, { latencyMs: 800 })
    const n = await nexus({
      queue: { max_size: 1, max_wait_seconds: 0.3 },
      backends: [backend("a", a!.url, "vllm", { max_concurrent: 1 })],
    })
    const busy = n.post("/v1/chat/completions", chat(MODEL))
    await eventually(() => a!.stats.inFlight === 1)
    const waiting = n.post("/v1/chat/completions", chat(MODEL))
    await eventually(() => n.deps.queue.size === 1)
    const full = await n.post("/v1/chat/completions", chat(MODEL))
    expect(full.status).toBe(503)
    expect(((await full.json()) as any).error.code).toBe("queue_full")
    const expired = await waiting
    expect(expired.status).toBe(503)
    expect(expired.headers.get("retry-after")).toBeTruthy()
    expect(((await expired.json()) as any).error.code).toBe("queue_timeout")
    expect((await busy).status).toBe(200)
  })

  test("streaming requests queue too", async () => {
    const [a] = await emulators(1, { latencyMs: 100, chunks: 3 })
    const n = await nexus({ backends: [backend("a", a!.url, "vllm", { max_concurrent: 1 })] })
    const results = await Promise.all(
      [1, 2, 3].map(() => n.post("/v1/chat/completions", chat(MODEL, { stream: true })).then(sseData))
    )
    for (const data of results) expect(data.at(-1)).toBe("[DONE]")
    expect(a!.stats.completed).toBe(3)
    expect(a!.stats.peakInFlight).toBe(1) // what the backend itself saw: max_concurrent held
  })

  test("an unknown model is answered 404 at once, never queued, even when everything is busy", async () => {
    const [a] = await emulators(1, { latencyMs: 500 })
    const n = await nexus({ backends: [backend("a", a!.url, "vllm", { max_concurrent: 1 })] })
    const busy = n.post("/v1/chat/completions", chat(MODEL))
    await eventually(() => a!.stats.inFlight === 1)
    const res = await n.post("/v1/chat/completions", chat("no-such-model"))
    expect(res.status).toBe(404)
    expect(n.deps.queue.size).toBe(0)
    await busy
  })

  test("a client that leaves while queued frees its place; counters return to zero", async () => {
    const [a] = await emulators(1, { latencyMs: 300 })
    const n = await nexus({ backends: [backend("a", a!.url, "vllm", { max_concurrent: 1 })] })
    const busy = n.post("/v1/chat/completions", chat(MODEL))
    await eventually(() => a!.stats.inFlight === 1)
    const ac = new AbortController()
    const gone = fetch(`${n.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify(chat(MODEL)), signal: ac.signal }).catch((e) => e)
    await eventually(() => n.deps.queue.size === 1)
    ac.abort()
    await gone
    await eventually(() => n.deps.queue.size === 0)
    expect((await busy).status).toBe(200)
    await eventually(() => n.inFlight() === 0 && a!.stats.inFlight === 0)
    expect(chatReqs(a!)).toBe(1)
  })
})

describe("under load", () => {
  test("1,000 concurrent requests over three backends, one failing: no client-visible error, counters back to zero", async () => {
    // Nexus and the client run as their own processes: Bun's outgoing-request cap (256)
    // is process-wide and read at start, and `nexus serve` raises it for itself.
    const [a, b, c] = await emulators(3, { latencyMs: 5 })
    c!.faults.status = 500
    const nexus = await spawnNexus(
      [a, b, c].map((e, i) => `[[backends]]\nname = "e${i}"\nurl = "${e!.url}"\ntype = "vllm"`).join("\n"),
      { env: { NEXUS_LOG_LEVEL: "warn" } }
    )
    scope.defer(() => nexus.stop())
    const client = Bun.spawn([process.execPath, LOAD_CLIENT, nexus.url, "1000", MODEL], {
      env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: "4096" },
      stdout: "pipe",
    })
    const result = JSON.parse(await new Response(client.stdout).text())
    expect(result).toEqual({ statuses: { "200": 1000 }, broken: 0 })
    expect(a!.stats.completed + b!.stats.completed).toBeGreaterThanOrEqual(1000)
    const stats = (await (await fetch(`${nexus.url}/v1/stats`)).json()) as { backends: { in_flight: number }[] }
    await eventually(() => [a!, b!, c!].every((e) => e.stats.inFlight === 0))
    expect(stats.backends.map((s) => s.in_flight)).toEqual([0, 0, 0])
    expect(await nexus.stop()).toBe(0)
  }, 60_000)
})

describe("POST /v1/nexus/route", () => {
  test("returns the ordered candidates with scores and every exclusion with its reason, sending nothing", async () => {
    const [a, b, d] = await emulators(3)
    const n = await nexus({
      backends: [
        backend("a", a!.url, "vllm", { priority: 10 }),
        backend("b", b!.url, "vllm", { priority: 20 }),
        backend("down", "http://127.0.0.1:9", "vllm"),
        backend("d", d!.url, "vllm", { priority: 5 }),
      ],
    })
    const before = [a!, b!, d!].map(chatReqs)
    const plan = (await (await n.post("/v1/nexus/route", chat(MODEL))).json()) as any
    expect(plan.routable).toBe(true)
    expect(plan.candidates.map((c: { backend: string }) => c.backend)).toEqual(["d", "a", "b"])
    expect(plan.candidates[0].score).toBeGreaterThan(plan.candidates[1].score)
    expect([a!, b!, d!].map(chatReqs)).toEqual(before)
    const none = (await (await n.post("/v1/nexus/route", chat("nope"))).json()) as any
    expect(none.routable).toBe(false)
    expect(none.error.code).toBe("model_not_found")
  })
})
