/**
 * Every `nexus_*` series the gateway registers, moved by a real scenario and read back
 * from /metrics by the exact amount it should have moved: a series that silently stops
 * counting fails here. The catalogue test at the end keeps the list honest: a new series
 * must be moved here or named, with the reason, among those moved elsewhere.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startOllama, startOpenai, startVllm } from "../../emulators/index.ts"
import { bearer, createKey } from "../helpers/keys.ts"
import { backend, chat, type TestNexus } from "../helpers/nexus.ts"
import { head, rawRequest } from "../helpers/raw-http.ts"
import { redisBinary, startRedis } from "../helpers/redis.ts"
import { testScope } from "../helpers/scope.ts"
import { lacking } from "../helpers/skip.ts"
import { eventually, until } from "../helpers/wait.ts"

const scope = testScope()
const GIB = 1024 ** 3

/** Every sample of a scrape, keyed by its name and labels as Prometheus prints them. */
async function scrape(n: TestNexus): Promise<Map<string, number>> {
  const text = await (await n.get("/metrics")).text()
  const samples = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue
    const cut = line.lastIndexOf(" ")
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)))
  }
  return samples
}
const at = (s: Map<string, number>, series: string) => s.get(series) ?? 0
/** How much each series moved between two scrapes (0 for one absent from both). */
const moved = (before: Map<string, number>, after: Map<string, number>, series: string[]) => Object.fromEntries(series.map((k) => [k, at(after, k) - at(before, k)]))
const sample = async (n: TestNexus, series: string) => at(await scrape(n), series)

/** The series this file moves, by scenario below. */
const MOVED = new Set<string>()
const moves = (...names: string[]) => names.forEach((x) => MOVED.add(x))

/** Series a test can move but that live in another file, and why they are not repeated here. */
const ELSEWHERE: Record<string, string> = {
  nexus_event_subscribers_dropped_total:
    "event-subscribers.test.ts ('is dropped once 256 KiB behind'): a drop needs megabytes of events to fill the kernel's socket buffers first",
}

describe("requests, tokens, latency and errors", () => {
  moves("nexus_requests_total", "nexus_tokens_total", "nexus_request_duration_seconds", "nexus_time_to_first_token_seconds", "nexus_errors_total")

  test("one request per dialect moves its own series by one; usage moves the token counters by what the body reported", async () => {
    const home = await scope.emulator(startOllama({ models: ["llama3.2:latest"] }))
    const n = await scope.nexus({ backends: [backend("home", home.url, "ollama")] })
    const M = "llama3.2:latest"
    const req = (stream: boolean, status = 200) => `nexus_requests_total{model="${M}",backend="home",status="${status}",stream="${stream}"}`
    const tokens = (type: string) => `nexus_tokens_total{model="${M}",backend="home",type="${type}"}`
    const dur = `nexus_request_duration_seconds_count{model="${M}",backend="home"}`
    const ttft = `nexus_time_to_first_token_seconds_count{model="${M}",backend="home"}`
    const rejected = `nexus_errors_total{model="none",type="rejected"}`
    const watched = [req(false), req(true), tokens("prompt"), tokens("completion"), dur, ttft, rejected]

    let before = await scrape(n)
    const res = await n.post("/v1/chat/completions", chat(M))
    const usage = ((await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } }).usage
    expect(usage.completion_tokens).toBeGreaterThan(0)
    await eventually(async () => at(await scrape(n), req(false)) === at(before, req(false)) + 1)
    expect(moved(before, await scrape(n), watched)).toEqual({
      [req(false)]: 1,
      [req(true)]: 0,
      [tokens("prompt")]: usage.prompt_tokens,
      [tokens("completion")]: usage.completion_tokens,
      [dur]: 1,
      [ttft]: 1,
      [rejected]: 0,
    })

    // The other dialects, streamed and not: each one request more on the same series.
    const calls: [string, unknown, boolean][] = [
      ["/v1/chat/completions", chat(M, { stream: true }), true],
      ["/v1/messages", { model: M, max_tokens: 16, messages: [{ role: "user", content: "hi" }] }, false],
      ["/v1/messages", { model: M, max_tokens: 16, stream: true, messages: [{ role: "user", content: "hi" }] }, true],
      ["/api/chat", { model: M, messages: [{ role: "user", content: "hi" }], stream: false }, false],
      ["/api/chat", { model: M, messages: [{ role: "user", content: "hi" }] }, true],
      ["/v1/responses", { model: M, input: "hi" }, false],
    ]
    for (const [path, body, stream] of calls) {
      before = await scrape(n)
      const r = await n.post(path, body)
      expect({ path, status: r.status }).toEqual({ path, status: 200 })
      await r.text()
      await eventually(async () => at(await scrape(n), req(stream)) === at(before, req(stream)) + 1, 10_000, `${path} counted`)
      const after = await scrape(n)
      expect({ path, moved: moved(before, after, [req(!stream), dur, ttft]) }).toEqual({ path, moved: { [req(!stream)]: 0, [dur]: 1, [ttft]: 1 } })
      // What a stream reports depends on the dialect (Ollama's OpenAI stream reports none
      // unasked); Ollama's native answers count as eval_count, which the pass-through does
      // not read yet.
      if (!stream && !path.startsWith("/api/")) expect({ path, more: at(after, tokens("completion")) > at(before, tokens("completion")) }).toEqual({ path, more: true })
    }

    // A model nobody serves: one rejection, under no client-typed label.
    before = await scrape(n)
    expect((await n.post("/v1/chat/completions", chat("no-such-model"))).status).toBe(404)
    await eventually(async () => at(await scrape(n), rejected) === at(before, rejected) + 1)
    expect(moved(before, await scrape(n), [`nexus_requests_total{model="none",backend="none",status="404",stream="false"}`])).toEqual({
      [`nexus_requests_total{model="none",backend="none",status="404",stream="false"}`]: 1,
    })
  })

  moves("nexus_failovers_total", "nexus_fallbacks_total")
  test("a failover counts the backend that failed; a fallback counts from and to; a failure nobody absorbs is a backend error", async () => {
    const a = await scope.emulator(startVllm({ models: ["m", "m2", "m3"] }))
    const b = await scope.emulator(startVllm({ models: ["m"] }))
    const f = await scope.emulator(startVllm({ models: ["small"] }))
    const n = await scope.nexus({
      routing: { fallbacks: { m2: ["small"] } },
      backends: [backend("a", a.url, "vllm", { priority: 1 }), backend("b", b.url, "vllm", { priority: 2 }), backend("f", f.url, "vllm", { priority: 3 })],
    })
    const failA = `nexus_failovers_total{backend="a"}`
    const fell = `nexus_fallbacks_total{from_model="m2",to_model="small"}`
    const backendError = `nexus_errors_total{model="m3",type="backend_error"}`
    const servedByB = `nexus_requests_total{model="m",backend="b",status="200",stream="false"}`

    let before = await scrape(n)
    a.faults.status = 500
    a.faults.statusCount = 1
    const res = await n.post("/v1/chat/completions", chat("m"))
    expect(res.headers.get("x-nexus-backend")).toBe("b")
    await res.text()
    await eventually(async () => at(await scrape(n), servedByB) === 1)
    expect(moved(before, await scrape(n), [failA, fell, backendError])).toEqual({ [failA]: 1, [fell]: 0, [backendError]: 0 })

    before = await scrape(n)
    a.faults.status = 500
    a.faults.statusCount = 1
    const fb = await n.post("/v1/chat/completions", chat("m2"))
    expect(fb.headers.get("x-nexus-fallback-model")).toBe("small")
    await fb.text()
    await eventually(async () => at(await scrape(n), fell) === 1)
    expect(moved(before, await scrape(n), [failA, fell, backendError])).toEqual({ [failA]: 1, [fell]: 1, [backendError]: 0 })

    before = await scrape(n)
    a.faults.status = 500
    a.faults.statusCount = 1
    expect((await n.post("/v1/chat/completions", chat("m3"))).status).toBeGreaterThanOrEqual(500)
    await eventually(async () => at(await scrape(n), backendError) === 1)
    expect(moved(before, await scrape(n), [failA, fell, backendError])).toEqual({ [failA]: 1, [fell]: 0, [backendError]: 1 })
  })

  moves("nexus_client_disconnects_total")
  test("a client that leaves mid-upload counts one disconnect at the request_body stage", async () => {
    const home = await scope.emulator(startOllama({ models: ["llama3.2:latest"] }))
    const n = await scope.nexus({ backends: [backend("home", home.url, "ollama")] })
    const series = `nexus_client_disconnects_total{stage="request_body"}`
    expect(await sample(n, series)).toBe(0)
    const upload = head("POST", "/v1/chat/completions", ["Content-Type: application/json", "Content-Length: 10000"])
    await rawRequest(n.port, `${upload}{"model": "llama3.2:latest", "messages": [`, {
      then: async (socket) => {
        await eventually(() => n.server.pendingRequests === 1)
        socket.destroy()
      },
    })
    await eventually(async () => (await sample(n, series)) === 1, 10_000, "the disconnect counted")
  })
})

describe("live state read at scrape time", () => {
  moves("nexus_backend_in_flight", "nexus_backend_healthy", "nexus_models_available")
  test("in flight per backend while a stream is open, back to 0 when it ends; health and the models available follow probes", async () => {
    const home = await scope.emulator(startOllama({ models: ["llama3.2:latest", "only-home:latest"] }))
    const gpu = await scope.emulator(startVllm({ models: ["llama3.2:latest"] }))
    const n = await scope.nexus({
      health_check: { interval_seconds: 0.05, failure_threshold: 1, recovery_threshold: 1 },
      backends: [backend("home", home.url, "ollama", { priority: 1 }), backend("gpu", gpu.url, "vllm", { priority: 2 })],
    })
    const s = await scrape(n)
    expect([at(s, `nexus_backend_healthy{backend="home",type="ollama"}`), at(s, `nexus_backend_healthy{backend="gpu",type="vllm"}`), at(s, "nexus_models_available")]).toEqual([1, 1, 2])

    home.faults.hangAfterChunks = 1
    const res = await n.post("/v1/chat/completions", chat("llama3.2:latest", { stream: true }))
    const reader = res.body!.getReader()
    await reader.read()
    expect(await sample(n, `nexus_backend_in_flight{backend="home"}`)).toBe(1)
    expect(await sample(n, `nexus_backend_in_flight{backend="gpu"}`)).toBe(0)
    await reader.cancel()
    await eventually(async () => (await sample(n, `nexus_backend_in_flight{backend="home"}`)) === 0, 10_000, "the slot released")
    home.faults.hangAfterChunks = undefined

    home.faults.healthStatus = 503
    await eventually(async () => (await sample(n, `nexus_backend_healthy{backend="home",type="ollama"}`)) === 0, 10_000, "home unhealthy")
    expect(await sample(n, "nexus_models_available")).toBe(1)
    home.faults.healthStatus = undefined
    await eventually(async () => (await sample(n, "nexus_models_available")) === 2, 10_000, "home back")
  })

  moves("nexus_event_subscribers")
  test("an event subscriber counts while connected", async () => {
    const n = await scope.nexus()
    expect(await sample(n, "nexus_event_subscribers")).toBe(0)
    const ctl = new AbortController()
    const res = await fetch(`${n.url}/v1/events`, { signal: ctl.signal })
    const reader = res.body!.getReader()
    await reader.read()
    await eventually(async () => (await sample(n, "nexus_event_subscribers")) === 1)
    ctl.abort()
    await reader.cancel().catch(() => {})
    await eventually(async () => (await sample(n, "nexus_event_subscribers")) === 0, 10_000, "the subscriber gone")
  })

  moves("nexus_event_listener_errors_total")
  test("a subscriber that throws is counted once per event, by bus", async () => {
    const home = await scope.emulator(startOllama({ models: ["llama3.2:latest"] }))
    const n = await scope.nexus({ backends: [backend("home", home.url, "ollama")] })
    n.deps.requests.on(() => {
      throw new Error("broken on purpose")
    })
    for (let i = 0; i < 2; i++) await (await n.post("/v1/chat/completions", chat("llama3.2:latest"))).text()
    await eventually(async () => (await sample(n, `nexus_event_listener_errors_total{bus="request"}`)) === 2)
  })
})

describe("spend: budget, keys and the ledger", () => {
  const env = { OPENAI_TEST_KEY: "sk-series-key-1618" }
  // $1 per input token, $2 per output token.
  const pricing = { "gpt-4o-mini": { input_per_million: 1_000_000, output_per_million: 2_000_000 } }

  async function cloudGateway(opts: { dataDir?: string } = {}) {
    const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: ["gpt-4o-mini"] }))
    const n = await scope.nexus(
      {
        auth: { required: true },
        routing: { budget: { monthly_limit_usd: 1000, soft_limit_percent: 75, hard_limit_action: "block_cloud" } },
        pricing,
        backends: [backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY" })],
      } as never,
      { env, dataDir: opts.dataDir }
    )
    return { cloud, n }
  }

  moves("nexus_cost_usd_total", "nexus_budget_spending_usd", "nexus_budget_reserved_usd", "nexus_budget_limit_usd")
  moves("nexus_key_requests_total", "nexus_key_tokens_total", "nexus_key_cost_usd_total", "nexus_key_in_flight")
  test("a cloud request moves the cost, the spend and its key's series by its cost and usage; held in flight, it reserves", async () => {
    const { cloud, n } = await cloudGateway()
    const alice = await createKey(n, { name: "alice" })
    const bob = await createKey(n, { name: "bob", rpm: 1 })
    let s = await scrape(n)
    expect([at(s, "nexus_budget_limit_usd"), at(s, "nexus_budget_spending_usd"), at(s, "nexus_budget_reserved_usd")]).toEqual([1000, 0, 0])

    const res = await n.post("/v1/chat/completions", chat("gpt-4o-mini"), bearer(alice.secret))
    const { usage } = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } }
    const cost = usage.prompt_tokens * 1 + usage.completion_tokens * 2
    expect(Number(res.headers.get("x-nexus-cost"))).toBeCloseTo(cost, 6)
    await eventually(async () => (await sample(n, `nexus_key_requests_total{key="alice",status="200"}`)) === 1)
    s = await scrape(n)
    expect(at(s, `nexus_cost_usd_total{backend="cloud",model="gpt-4o-mini"}`)).toBeCloseTo(cost, 6)
    expect(at(s, "nexus_budget_spending_usd")).toBeCloseTo(cost, 6)
    expect(at(s, `nexus_key_cost_usd_total{key="alice"}`)).toBeCloseTo(cost, 6)
    expect([at(s, `nexus_key_tokens_total{key="alice",type="prompt"}`), at(s, `nexus_key_tokens_total{key="alice",type="completion"}`)]).toEqual([usage.prompt_tokens, usage.completion_tokens])
    expect(at(s, `nexus_key_cost_usd_total{key="bob"}`)).toBe(0)

    // A key over its rate is refused: counted under its name and the status it got.
    expect((await n.post("/v1/chat/completions", chat("gpt-4o-mini"), bearer(bob.secret))).status).toBe(200)
    expect((await n.post("/v1/chat/completions", chat("gpt-4o-mini"), bearer(bob.secret))).status).toBe(429)
    await eventually(async () => (await sample(n, `nexus_key_requests_total{key="bob",status="429"}`)) === 1)
    expect(await sample(n, `nexus_key_requests_total{key="bob",status="200"}`)).toBe(1)

    // In flight: the key's slot and the worst cost reserved, both released when the client leaves.
    cloud.faults.hangBeforeHeaders = true
    const ctl = new AbortController()
    const held = fetch(`${n.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...bearer(alice.secret) }, body: JSON.stringify(chat("gpt-4o-mini", { max_tokens: 10 })), signal: ctl.signal }).catch(() => undefined)
    s = await until(() => scrape(n), (x) => at(x, `nexus_key_in_flight{key="alice"}`) === 1, { what: "alice in flight" })
    expect(at(s, "nexus_budget_reserved_usd")).toBeGreaterThanOrEqual(10 * 2)
    expect(at(s, `nexus_key_in_flight{key="bob"}`)).toBe(0)
    ctl.abort()
    await held
    await eventually(async () => {
      const x = await scrape(n)
      return at(x, `nexus_key_in_flight{key="alice"}`) === 0 && at(x, "nexus_budget_reserved_usd") === 0
    }, 10_000, "slot and reservation released")
  })

  moves("nexus_ledger_errors_total", "nexus_ledger_healthy")
  test("a ledger that cannot be read counts each failed read and says unhealthy; repaired, it is healthy again", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "nexus-series-"))
    writeFileSync(join(dataDir, "nexus.sqlite"), "not a database ".repeat(100))
    const { n } = await cloudGateway({ dataDir })
    const s = await scrape(n)
    expect(at(s, `nexus_ledger_errors_total{operation="read"}`)).toBeGreaterThanOrEqual(1)
    expect(at(s, `nexus_ledger_errors_total{operation="write"}`)).toBe(0)
    expect(at(s, "nexus_ledger_healthy")).toBe(0)
    rmSync(join(dataDir, "nexus.sqlite"))
    const key = await createKey(n, { name: "carol" })
    await eventually(async () => (await n.post("/v1/chat/completions", chat("gpt-4o-mini"), bearer(key.secret))).status === 200, 10_000, "cloud served again")
    expect(await sample(n, "nexus_ledger_healthy")).toBe(1)
  })

  moves("nexus_state_up")
  test.skipIf(lacking("redis-server is not installed", redisBinary !== undefined))("the state store: 1 while Redis answers, 0 once it stops", async () => {
    const r = await startRedis()
    scope.defer(() => r.stop())
    const n = await scope.nexus({ state: { url: r.url } } as never)
    expect(await sample(n, "nexus_state_up")).toBe(1)
    await r.stop()
    await eventually(async () => (await sample(n, "nexus_state_up")) === 0, 10_000, "Redis seen down")
  })
})

describe("the queue", () => {
  moves("nexus_queue_waiting")
  test("a request waiting for the one slot reads 1 for its model; gone, it reads 0", async () => {
    const a = await scope.emulator(startOllama({ models: ["m:7b"], chunks: 100, chunkDelayMs: 100 }))
    const n = await scope.nexus({ backends: [backend("a", a.url, "ollama", { max_concurrent: 1 })] })
    const series = `nexus_queue_waiting{model="m:7b"}`
    const send = () => {
      const ctl = new AbortController()
      const res = fetch(`${n.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(chat("m:7b", { stream: true })), signal: ctl.signal }).catch(() => undefined)
      return { res, leave: () => ctl.abort() }
    }
    const holder = send()
    await eventually(() => a.stats.inFlight === 1, 5000, "the slot taken")
    expect(await sample(n, series)).toBe(0)
    const waiter = send()
    await until(() => scrape(n), (x) => at(x, series) === 1, { what: "one waiting" })
    waiter.leave()
    await waiter.res
    await until(() => scrape(n), (x) => at(x, series) === 0 && x.has(series), { what: "none waiting" })
    holder.leave()
    await holder.res
    await eventually(() => n.inFlight() === 0, 10_000, "the stream over")
  })
})

describe("model residency", () => {
  moves("nexus_model_loads_total", "nexus_model_load_seconds", "nexus_model_requests_total", "nexus_model_warm_hit_ratio")
  test("a cold model loads once for a request: one load, its duration, one cold and then one warm attempt", async () => {
    const a = await scope.emulator(startOllama({ models: [{ id: "coder:7b", loaded: false, sizeBytes: 2 * GIB }], fleet: { loadMsPerGb: 50 } }))
    const n = await scope.nexus({ backends: [backend("a", a.url, "ollama")] })
    let s = await scrape(n)
    expect([at(s, `nexus_model_requests_total{residency="cold"}`), at(s, `nexus_model_requests_total{residency="warm"}`), at(s, "nexus_model_warm_hit_ratio")]).toEqual([0, 0, 1])
    await (await n.post("/v1/chat/completions", chat("coder:7b"))).text()
    s = await until(() => scrape(n), (x) => at(x, `nexus_model_load_seconds_count{backend="a",model="coder:7b"}`) === 1, { what: "the load timed" })
    expect(at(s, `nexus_model_loads_total{backend="a",model="coder:7b",reason="request"}`)).toBe(1)
    expect(at(s, `nexus_model_load_seconds_sum{backend="a",model="coder:7b"}`)).toBeGreaterThan(0)
    expect([at(s, `nexus_model_requests_total{residency="cold"}`), at(s, `nexus_model_requests_total{residency="warm"}`), at(s, "nexus_model_warm_hit_ratio")]).toEqual([1, 0, 0])
    await (await n.post("/v1/chat/completions", chat("coder:7b"))).text()
    s = await until(() => scrape(n), (x) => at(x, `nexus_model_requests_total{residency="warm"}`) === 1, { what: "the warm attempt" })
    expect([at(s, `nexus_model_loads_total{backend="a",model="coder:7b",reason="request"}`), at(s, "nexus_model_warm_hit_ratio")]).toEqual([1, 0.5])
  })

  moves("nexus_model_unloads_total")
  test("an unload on command counts once, as explicit", async () => {
    const a = await scope.emulator(startOllama({ models: [{ id: "coder:7b", loaded: true, sizeBytes: 2 * GIB }], fleet: {} }))
    const n = await scope.nexus({ backends: [backend("a", a.url, "ollama")] })
    expect(at(await scrape(n), `nexus_model_unloads_total{backend="a",model="coder:7b",reason="explicit"}`)).toBe(0)
    const off = await n.post("/v1/models/coder:7b/unload", {})
    expect(off.status).toBe(200)
    const s = await until(() => scrape(n), (x) => at(x, `nexus_model_unloads_total{backend="a",model="coder:7b",reason="explicit"}`) === 1, { what: "the unload counted" })
    expect(at(s, `nexus_model_unloads_total{backend="a",model="coder:7b",reason="idle"}`)).toBe(0)
  })
})

describe("the catalogue", () => {
  test("every nexus_* series the gateway registers is moved above or named with where and why", async () => {
    const n = await scope.nexus()
    const text = await (await n.get("/metrics")).text()
    const registered = [...text.matchAll(/^# TYPE (nexus_\w+) /gm)].map((m) => m[1]!).sort()
    const accounted = [...MOVED, ...Object.keys(ELSEWHERE)].sort()
    expect(registered).toEqual(accounted)
  })
})
