/**
 * What a key limits, on a running gateway: a restricted key never reaches an open-zone
 * backend, requests and tokens per minute answer 429 with the headers OpenAI clients
 * read, requests in flight are counted back on every ending, and a monthly cap counts
 * recorded spend and what requests in flight reserved, across restarts.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startOllama, startOpenai } from "../../emulators/index.ts"
import { bearer, createKey } from "../helpers/keys.ts"
import { backend, chat } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually } from "../helpers/wait.ts"

const scope = testScope()
const env = { OPENAI_TEST_KEY: "sk-keys-cloud-0042" }
// $1 per input token and $2 per output token: one request costs dollars.
const pricing = { "gpt-4o-mini": { input_per_million: 1_000_000, output_per_million: 2_000_000 } }

async function fleet(opts: { local?: string[]; cloud?: string[]; dataDir?: string; cloudLatencyMs?: number; localTier?: number } = {}) {
  const home = await scope.emulator(startOllama({ models: opts.local ?? ["llama3.2:latest"] }))
  const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: opts.cloud ?? ["gpt-4o-mini"], latencyMs: opts.cloudLatencyMs }))
  const n = await scope.nexus(
    {
      auth: { required: true },
      pricing,
      backends: [backend("home", home.url, "ollama", { tier: opts.localTier ?? 1 }), backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY", tier: 3 })],
    } as never,
    { env, dataDir: opts.dataDir }
  )
  return { home, cloud, n }
}

const keyView = async (n: { get(p: string): Promise<Response> }, name: string) => (await (await n.get(`/v1/keys/${name}`)).json()) as any

describe("privacy", () => {
  test("a restricted key is routed as a restricted request: never to the open backend, even when it is the only fast one", async () => {
    const { home, cloud, n } = await fleet({ local: ["big-model:latest"], cloud: ["big-model:latest"] })
    const open = await createKey(n, { name: "open" })
    const locked = await createKey(n, { name: "locked", privacy: "restricted" })
    // The best tier for the model is the cloud's: an ordinary key goes there.
    expect((await n.post("/v1/chat/completions", chat("big-model"), bearer(open.secret))).headers.get("x-nexus-backend")).toBe("cloud")
    const before = cloud.stats.bodies.length
    const res = await n.post("/v1/chat/completions", chat("big-model"), { ...bearer(locked.secret), "x-nexus-privacy": "open" })
    expect(res.status).toBe(200)
    expect(res.headers.get("x-nexus-backend")).toBe("home")
    // With the local backend failing, the restricted key fails rather than leave.
    home.faults.status = 500
    for (const path of ["/v1/chat/completions", "/v1/messages", "/api/chat", "/v1/responses"]) {
      const body = path === "/v1/messages" ? { model: "big-model", max_tokens: 8, messages: [{ role: "user", content: "hi" }] } : path === "/v1/responses" ? { model: "big-model", input: "hi" } : { ...chat("big-model"), stream: false }
      const r = await n.post(path, body, bearer(locked.secret))
      expect({ path, ok: r.status < 300 && r.headers.get("x-nexus-backend") === "cloud" }).toEqual({ path, ok: false })
    }
    expect(cloud.stats.bodies.length).toBe(before)
    const plan = (await (await fetch(`${n.url}/v1/nexus/route`, { method: "POST", headers: { "content-type": "application/json", ...bearer(locked.secret) }, body: JSON.stringify(chat("big-model")) })).json()) as any
    expect(JSON.stringify(plan)).toContain("privacy")
  })
})

describe("rate limits", () => {
  test("requests per minute: headers on every answer, then a 429 with Retry-After in the client's dialect", async () => {
    const { n } = await fleet()
    const k = await createKey(n, { name: "ci", rpm: 2 })
    const first = await n.post("/v1/chat/completions", chat("llama3.2"), bearer(k.secret))
    expect(first.status).toBe(200)
    expect(first.headers.get("x-ratelimit-limit-requests")).toBe("2")
    expect(first.headers.get("x-ratelimit-remaining-requests")).toBe("1")
    expect(first.headers.get("x-ratelimit-reset-requests")).toMatch(/^\d+(\.\d+)?(ms|s)$/)
    expect((await n.post("/v1/chat/completions", chat("llama3.2"), bearer(k.secret))).status).toBe(200)
    const limited = await n.post("/v1/chat/completions", chat("llama3.2"), bearer(k.secret))
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    expect(limited.headers.get("x-ratelimit-remaining-requests")).toBe("0")
    expect(((await limited.json()) as any).error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" })
    const anthropic = await n.post("/v1/messages", { model: "llama3.2", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }, bearer(k.secret))
    expect(anthropic.status).toBe(429)
    expect(((await anthropic.json()) as any).error.type).toBe("rate_limit_error")
    const ollama = await n.post("/api/chat", { model: "llama3.2", messages: [{ role: "user", content: "hi" }], stream: false }, bearer(k.secret))
    expect(ollama.status).toBe(429)
    expect(ollama.headers.get("retry-after")).not.toBeNull()
    expect(typeof ((await ollama.json()) as any).error).toBe("string")
  })

  test("tokens per minute count the usage backends report", async () => {
    const { n } = await fleet()
    const k = await createKey(n, { name: "ci", tpm: 5 })
    const first = await n.post("/v1/chat/completions", chat("llama3.2"), bearer(k.secret))
    const used = ((await first.json()) as any).usage.total_tokens
    expect(used).toBeGreaterThan(5)
    expect(first.headers.get("x-ratelimit-limit-tokens")).toBe("5")
    await eventually(async () => (await keyView(n, "ci")).usage.prompt_tokens > 0)
    const limited = await n.post("/v1/chat/completions", chat("llama3.2"), bearer(k.secret))
    expect(limited.status).toBe(429)
    expect(limited.headers.get("x-ratelimit-remaining-tokens")).toBe("0")
    expect(limited.headers.get("x-ratelimit-reset-tokens")).toMatch(/s$/)
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
  })

  test("requests in flight: a 429 beyond the limit, and the place comes back when a client leaves mid-stream", async () => {
    const { n, home } = await fleet()
    home.state.chunkDelayMs = 200
    home.state.chunks = 50
    const k = await createKey(n, { name: "agent", max_concurrent: 1 })
    const ctl = new AbortController()
    const streaming = await fetch(`${n.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(k.secret) },
      body: JSON.stringify(chat("llama3.2", { stream: true })),
      signal: ctl.signal,
    })
    expect(streaming.status).toBe(200)
    const busy = await n.post("/v1/chat/completions", chat("llama3.2"), bearer(k.secret))
    expect(busy.status).toBe(429)
    expect(((await busy.json()) as any).error.code).toBe("concurrency_limit_exceeded")
    expect((await keyView(n, "agent")).usage.in_flight).toBe(1)
    ctl.abort()
    await eventually(async () => (await keyView(n, "agent")).usage.in_flight === 0)
    home.state.chunkDelayMs = 0
    expect((await n.post("/v1/chat/completions", chat("llama3.2"), bearer(k.secret))).status).toBe(200)
    // Refused requests (a 404 here) give their place back too.
    expect((await n.post("/v1/chat/completions", chat("no-such-model"), bearer(k.secret))).status).toBe(404)
    expect((await keyView(n, "agent")).usage.in_flight).toBe(0)
  })
})

describe("monthly spend cap", () => {
  test("at the cap a key stays off cloud backends (local ones still serve it); other keys are not affected; it survives a restart", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "nexus-keys-cap-"))
    const first = await fleet({ dataDir })
    const capped = await createKey(first.n, { name: "capped", monthly_usd: 5 })
    const free = await createKey(first.n, { name: "free" })
    const paid = await first.n.post("/v1/chat/completions", chat("gpt-4o-mini"), bearer(capped.secret))
    expect(paid.status).toBe(200)
    expect(Number(paid.headers.get("x-nexus-cost"))).toBeGreaterThan(5)
    await eventually(async () => (await keyView(first.n, "capped")).usage.spent_usd > 5)
    const refused = await first.n.post("/v1/chat/completions", chat("gpt-4o-mini"), bearer(capped.secret))
    expect(refused.status).toBe(503)
    expect(JSON.stringify(await refused.json())).toContain("monthly cap")
    expect((await first.n.post("/v1/chat/completions", chat("gpt-4o-mini"), bearer(free.secret))).status).toBe(200)
    expect((await first.n.post("/v1/chat/completions", chat("llama3.2"), bearer(capped.secret))).status).toBe(200)
    await first.n.stop(0)

    const second = await fleet({ dataDir })
    expect((await keyView(second.n, "capped")).usage.spent_usd).toBeGreaterThan(5)
    expect((await second.n.post("/v1/chat/completions", chat("gpt-4o-mini"), bearer(capped.secret))).status).toBe(503)
  })

  test("requests in flight reserve their worst cost: a second one cannot overshoot the cap meanwhile", async () => {
    const { n, cloud } = await fleet({ cloudLatencyMs: 400 })
    const k = await createKey(n, { name: "capped", monthly_usd: 50 })
    const slow = n.post("/v1/chat/completions", chat("gpt-4o-mini", { max_tokens: 100 }), bearer(k.secret))
    await eventually(() => cloud.stats.inFlight === 1)
    expect((await keyView(n, "capped")).usage.reserved_usd).toBeGreaterThan(50)
    const second = await n.post("/v1/chat/completions", chat("gpt-4o-mini", { max_tokens: 100 }), bearer(k.secret))
    expect(second.status).toBe(503)
    expect((await slow).status).toBe(200)
    await eventually(async () => (await keyView(n, "capped")).usage.reserved_usd === 0)
  })
})
