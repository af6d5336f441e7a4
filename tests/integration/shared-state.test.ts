/**
 * Several instances, one state: two gateways on one real redis-server share the month's
 * spend and the budget it feeds, API keys, and keep serving while it is down.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startOllama, startOpenai, startVllm } from "../../emulators/index.ts"
import type { NexusConfig } from "../../src/config/types.ts"
import { monthOf } from "../../src/persist/ledger.ts"
import { bearer, createKey } from "../helpers/keys.ts"
import { backend, chat, type TestNexus } from "../helpers/nexus.ts"
import { spawnNexus, type NexusProcess } from "../helpers/process.ts"
import { redisBinary, startRedis, type TestRedis } from "../helpers/redis.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually } from "../helpers/wait.ts"

const scope = testScope()
const env = { OPENAI_TEST_KEY: "sk-shared-state-1618" }
// $1 per input token, $2 per output token: each answer costs tens of dollars.
const pricing = { "gpt-4o-mini": { input_per_million: 1_000_000, output_per_million: 2_000_000 } }
const ask = chat("gpt-4o-mini", { max_tokens: 16 })

async function redis(): Promise<TestRedis> {
  const r = await startRedis()
  scope.defer(r.stop)
  return r
}

async function pair(r: TestRedis, extra: { budget?: NexusConfig["routing"]["budget"]; auth?: Partial<NexusConfig["auth"]>; state?: Partial<NexusConfig["state"]> } = {}) {
  const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: ["gpt-4o-mini"], latencyMs: 5 }))
  const start = () =>
    scope.nexus({ routing: { budget: extra.budget }, pricing, auth: extra.auth, state: { url: r.url, ...extra.state }, backends: [backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY" })] } as never, { env })
  const [a, b] = await Promise.all([start(), start()])
  return { cloud, a, b, start }
}

const stats = async (n: TestNexus) => (await (await n.get("/v1/stats")).json()) as { budget: { spent_usd: number } }
const serverTotal = async (r: TestRedis) => Number((await r.send("HGET", [`nexus:spend:${monthOf(Date.now())}`, "total"])) ?? 0)

/** `count` requests, `concurrency` at a time, alternating between the gateways; the costs of those answered 200. */
async function load(gateways: TestNexus[], count: number, concurrency: number, headers: Record<string, string> = {}) {
  const costs: number[] = []
  const statuses: number[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const n = gateways[next++ % gateways.length]!
        const res = await n.post("/v1/chat/completions", ask, headers).catch(() => undefined)
        // A stopped instance refuses the connection: the client would retry elsewhere.
        if (!res) {
          statuses.push(0)
          continue
        }
        await res.arrayBuffer()
        statuses.push(res.status)
        if (res.status === 200) costs.push(Number(res.headers.get("x-nexus-cost")))
      }
    })
  )
  return { costs, statuses, sum: costs.reduce((x, y) => x + y, 0) }
}

describe.skipIf(!redisBinary)("shared state on redis-server", () => {
  test("one budget holds across two instances under concurrent load, and both report the same spend", async () => {
    const r = await redis()
    const { a, b } = await pair(r)
    const one = await (await a.post("/v1/chat/completions", ask)).headers.get("x-nexus-cost")
    const cost = Number(one)
    expect(cost).toBeGreaterThan(0)
    // What A spent, B counts.
    await eventually(async () => Math.abs((await stats(b)).budget.spent_usd - cost) < 1e-6, 10_000, "B sees A's spend")
    expect(await serverTotal(r)).toBeCloseTo(cost, 6)

    // A limit of ten answers; two clients on each instance.
    const limit = cost * 11
    for (const n of [a, b]) n.deps.config().routing.budget = { monthly_limit_usd: limit, soft_limit_percent: 100, hard_limit_action: "block_cloud", on_ledger_error: "closed" }
    const { costs, statuses } = await load([a, b], 60, 4)
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0)
    // Without sharing, each instance would let ten through; shared, at most the 4 in flight overshoot.
    const total = cost + costs.reduce((x, y) => x + y, 0)
    expect(total).toBeLessThanOrEqual(limit + 4 * cost + 1e-6)
    await eventually(async () => Math.abs((await serverTotal(r)) - total) < 1e-6, 10_000, "every cost on the server")
    for (const n of [a, b]) await eventually(async () => Math.abs((await stats(n)).budget.spent_usd - total) < 1e-6, 10_000, "both instances agree")
  })

  test("a key made on one instance works on the other at once, and on one started later; revoking reaches both", async () => {
    const r = await redis()
    const { a, b, start } = await pair(r, { auth: { required: true } })
    const key = await createKey(a, { name: "alice" })
    await eventually(async () => (await b.post("/v1/chat/completions", ask, bearer(key.secret))).status === 200, 10_000, "B takes the new key")
    const c = await start()
    expect((await c.post("/v1/chat/completions", ask, bearer(key.secret))).status).toBe(200)
    expect((await c.post("/v1/chat/completions", ask, bearer("nx-not-a-key"))).status).toBe(401)
    expect((await fetch(`${a.url}/v1/keys/alice`, { method: "DELETE" })).status).toBe(200)
    await eventually(async () => (await b.post("/v1/chat/completions", ask, bearer(key.secret))).status === 401, 10_000, "B refuses the revoked key")
    expect((await c.post("/v1/chat/completions", ask, bearer(key.secret))).status).toBe(401)
  })

  test("Redis stopped and started mid-load: every answer served, every cost reaches the server, both agree", async () => {
    const r = await redis()
    const { a, b } = await pair(r)
    let stopped = false
    const loading = load([a, b], 80, 4)
    await eventually(async () => (await serverTotal(r)) > 0, 10_000, "spend before the stop")
    await r.stop()
    stopped = true
    const metric = async (n: TestNexus) => (await (await n.get("/metrics")).text()).includes("nexus_state_up 0")
    await eventually(() => metric(a), 10_000, "nexus_state_up 0 on A")
    await r.start()
    const { statuses, sum } = await loading
    expect(stopped).toBe(true)
    expect(statuses.every((s) => s === 200)).toBe(true)
    await eventually(async () => Math.abs((await serverTotal(r)) - sum) < 1e-6, 15_000, "the server holds every cost")
    for (const n of [a, b]) await eventually(async () => Math.abs((await stats(n)).budget.spent_usd - sum) < 1e-6, 15_000, "both instances reconcile")
    expect((await (await a.get("/metrics")).text()).includes("nexus_state_up 1")).toBe(true)
  })

  test("one key's rate limit holds across both instances under concurrent load", async () => {
    const r = await redis()
    const { a, b } = await pair(r, { auth: { required: true } })
    const key = await createKey(a, { name: "bob", rpm: 10 })
    await eventually(async () => b.deps.keys.table.byName("bob") !== undefined, 10_000, "B knows the key")
    const started = performance.now()
    const { statuses } = await load([a, b], 40, 6, bearer(key.secret))
    // Each instance alone would let ten through; shared, ten and what refilled meanwhile.
    const refilled = Math.floor(((performance.now() - started) * 10) / 60_000)
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(10 + refilled)
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(10)
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0)
    const refused = await b.post("/v1/chat/completions", ask, bearer(key.secret))
    expect(refused.status).toBe(429)
    expect(refused.headers.get("x-ratelimit-limit-requests")).toBe("10")
    expect(refused.headers.get("x-ratelimit-remaining-requests")).toBe("0")
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("rate_limit_exceeded")
  })

  test("an instance stopped mid-load: the other goes on, and what both served is counted", async () => {
    const r = await redis()
    const { a, b } = await pair(r)
    const onB = load([b], 30, 2)
    const onA = load([a], 30, 2)
    await eventually(async () => (await serverTotal(r)) > 0, 10_000, "spend from both")
    await a.stop(0)
    const [fromA, fromB] = await Promise.all([onA, onB])
    expect(fromB.statuses.every((s) => s === 200)).toBe(true)
    expect(fromA.statuses.length).toBe(30)
    const sum = fromA.sum + fromB.sum
    await eventually(async () => Math.abs((await serverTotal(r)) - sum) < 1e-6, 10_000, "the server holds every cost")
    await eventually(async () => Math.abs((await stats(b)).budget.spent_usd - sum) < 1e-6, 10_000, "B counts A's spend")
  })

  test('on_unavailable = "closed": while Redis is down keys are refused with 503 in the client\'s dialect, served again once it returns', async () => {
    const r = await redis()
    const { a } = await pair(r, { auth: { required: true }, state: { on_unavailable: "closed" }, budget: { monthly_limit_usd: 1_000_000, soft_limit_percent: 100, hard_limit_action: "block_cloud", on_ledger_error: "closed" } })
    const key = await createKey(a, { name: "carol" })
    expect((await a.post("/v1/chat/completions", ask, bearer(key.secret))).status).toBe(200)
    await r.stop()
    await eventually(async () => (await a.post("/v1/chat/completions", ask, bearer(key.secret))).status === 503, 10_000, "refused while down")
    const refused = await a.post("/v1/chat/completions", ask, bearer(key.secret))
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("state_unavailable")
    const anthropic = await a.post("/v1/messages", { model: "gpt-4o-mini", max_tokens: 16, messages: [{ role: "user", content: "hi" }] }, { "x-api-key": key.secret })
    expect(anthropic.status).toBe(503)
    expect(((await anthropic.json()) as { type: string }).type).toBe("error")
    await r.start()
    await eventually(async () => (await a.post("/v1/chat/completions", ask, bearer(key.secret))).status === 200, 15_000, "served again once it returns")
  })

  test("backends added at run time and drained flags reach every instance, and one started later", async () => {
    const r = await redis()
    const { a, b, start } = await pair(r)
    const gpu = await scope.emulator(startOllama({ models: ["llama3:8b"] }))
    const added = await a.post("/v1/backends", { name: "gpu", url: gpu.url, type: "ollama" })
    expect(added.status).toBe(201)
    const view = async (n: TestNexus) => {
      const res = await n.get("/v1/backends/gpu")
      return res.status === 200 ? ((await res.json()) as { status: string }) : undefined
    }
    await eventually(async () => (await view(b)) !== undefined, 10_000, "B has the backend")
    const c = await start()
    expect(await view(c)).toBeDefined()
    expect((await a.post("/v1/backends/gpu/drain", {})).status).toBe(200)
    for (const n of [b, c]) await eventually(async () => (await view(n))?.status === "draining", 10_000, "drained everywhere")
    // An instance started now finds it drained too.
    const d = await start()
    expect((await view(d))?.status).toBe("draining")
    expect((await b.post("/v1/backends/gpu/undrain", {})).status).toBe(200)
    for (const n of [a, c, d]) await eventually(async () => (await view(n))?.status !== "draining", 10_000, "undrained everywhere")
    expect((await fetch(`${c.url}/v1/backends/gpu`, { method: "DELETE" })).status).toBe(200)
    for (const n of [a, b, d]) await eventually(async () => (await view(n)) === undefined, 10_000, "removed everywhere")
    const e = await start()
    expect(await view(e)).toBeUndefined()
  })

  test("a conversation keeps its backend whichever instance receives the next turn", async () => {
    const r = await redis()
    const [x, y] = await Promise.all([scope.emulator(startVllm({ models: ["m"] })), scope.emulator(startVllm({ models: ["m"] }))])
    const start = () => scope.nexus({ routing: { strategy: "round_robin" }, state: { url: r.url }, backends: [backend("x", x.url, "vllm"), backend("y", y.url, "vllm")] } as never)
    const [a, b] = await Promise.all([start(), start()])
    const turn = (n: TestNexus, session: string) => n.post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: "task" }] }, { "x-nexus-session": session })
    const homes = new Map<string, string>()
    for (const s of ["s1", "s2", "s3", "s4"]) homes.set(s, (await turn(a, s)).headers.get("x-nexus-backend")!)
    expect(new Set(homes.values()).size).toBe(2)
    for (const [s, home] of homes) {
      const res = await turn(b, s)
      expect(res.headers.get("x-nexus-backend")).toBe(home)
      expect(res.headers.get("x-nexus-route-reason")).toBe("session_affinity")
      expect((await turn(a, s)).headers.get("x-nexus-backend")).toBe(home)
    }
  })

  test("one key's monthly cap holds across both instances, and both show its spend", async () => {
    const r = await redis()
    const { a, b, start } = await pair(r, { auth: { required: true } })
    const probe = await createKey(a, { name: "probe" })
    const cost = Number((await a.post("/v1/chat/completions", ask, bearer(probe.secret))).headers.get("x-nexus-cost"))
    const key = await createKey(a, { name: "dave", monthly_usd: cost * 6 })
    await eventually(async () => b.deps.keys.table.byName("dave") !== undefined, 10_000, "B knows the key")
    const { statuses, sum } = await load([a, b], 40, 4, bearer(key.secret))
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0)
    // Alone, each instance would spend up to the cap; together, at most the 4 in flight over it.
    expect(sum).toBeLessThanOrEqual(cost * 6 + 4 * cost + 1e-6)
    const spentOn = async (n: TestNexus) => ((await (await n.get("/v1/keys/dave")).json()) as { usage: { spent_usd: number } }).usage.spent_usd
    for (const n of [a, b]) await eventually(async () => Math.abs((await spentOn(n)) - sum) < 1e-5, 10_000, "both show the key's spend")
    const c = await start()
    expect(await spentOn(c)).toBeCloseTo(sum, 5)
  })

  test("an instance started while Redis is down serves, keeps cloud spend blocked until it knows the month's spend, then catches up", async () => {
    const r = await redis()
    const budget = { monthly_limit_usd: 1_000_000, soft_limit_percent: 100, hard_limit_action: "block_cloud" as const, on_ledger_error: "closed" as const }
    const { a } = await pair(r, { budget })
    expect((await a.post("/v1/chat/completions", ask)).status).toBe(200)
    await r.stop()
    const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: ["gpt-4o-mini"] }))
    const late = await scope.nexus({ routing: { budget }, pricing, state: { url: r.url }, backends: [backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY" })] } as never, { env })
    expect((await (await late.get("/metrics")).text()).includes("nexus_state_up 0")).toBe(true)
    const refused = await late.post("/v1/chat/completions", ask)
    expect(refused.status).toBe(503)
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("unreachable")
    await r.start()
    await eventually(async () => (await late.post("/v1/chat/completions", ask)).status === 200, 15_000, "served once the spend is known")
    await eventually(async () => Math.abs((await stats(late)).budget.spent_usd - (await serverTotal(r))) < 1e-6, 10_000, "the late one agrees with the server")
  })

  test("an instance killed (SIGKILL) mid-load: the other goes on, and the server holds what it spent", async () => {
    const r = await redis()
    const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: ["gpt-4o-mini"], latencyMs: 5 }))
    const toml = `[state]\nurl = "${r.url}"\n[pricing."gpt-4o-mini"]\ninput_per_million = 1000000\noutput_per_million = 2000000\n[[backends]]\nname = "cloud"\nurl = "${cloud.url}"\ntype = "openai"\napi_key_env = "OPENAI_TEST_KEY"\n`
    const spawn = async () => {
      const p = await spawnNexus(toml, { env: { ...env, NEXUS_DATA_DIR: mkdtempSync(join(tmpdir(), "nexus-shared-")) } })
      scope.defer(() => p.stop("SIGKILL"))
      return p
    }
    const [a, b] = await Promise.all([spawn(), spawn()])
    const as = (p: NexusProcess) => ({ post: (path: string, body: unknown, headers: Record<string, string> = {}) => fetch(`${p.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) }) }) as TestNexus
    const onA = load([as(a)], 40, 2)
    const onB = load([as(b)], 40, 2)
    await eventually(async () => (await serverTotal(r)) > 0, 10_000, "spend before the kill")
    a.proc.kill("SIGKILL")
    const [fromA, fromB] = await Promise.all([onA, onB])
    expect(fromA.statuses.some((s) => s === 0)).toBe(true)
    expect(fromB.statuses.every((s) => s === 200)).toBe(true)
    // B's costs all reach the server; A's, up to the moment it died.
    await eventually(async () => (await serverTotal(r)) >= fromB.sum - 1e-6, 10_000, "B's spend on the server")
    expect(await serverTotal(r)).toBeLessThanOrEqual(fromA.sum + fromB.sum + 1e-6)
    const spentB = async () => ((await (await fetch(`${b.url}/v1/stats`)).json()) as { budget: { spent_usd: number } }).budget.spent_usd
    await eventually(async () => Math.abs((await spentB()) - (await serverTotal(r))) < 1e-6, 10_000, "B agrees with the server")
  })

  test("keys and backends changed while Redis is down act at once where they were made, and reach the others when it returns", async () => {
    const r = await redis()
    const { a, b } = await pair(r, { auth: { required: true } })
    const gpu = await scope.emulator(startOllama({ models: ["llama3:8b"] }))
    const old = await createKey(a, { name: "old" })
    await eventually(async () => b.deps.keys.table.byName("old") !== undefined, 10_000, "B knows the old key")
    await r.stop()
    await eventually(async () => (await (await a.get("/metrics")).text()).includes("nexus_state_up 0"), 10_000, "A sees Redis down")
    const made = await createKey(a, { name: "offline" })
    expect((await a.post("/v1/chat/completions", ask, bearer(made.secret))).status).toBe(200)
    expect((await fetch(`${a.url}/v1/keys/old`, { method: "DELETE" })).status).toBe(200)
    expect((await a.post("/v1/chat/completions", ask, bearer(old.secret))).status).toBe(401)
    expect((await a.post("/v1/backends", { name: "gpu", url: gpu.url, type: "ollama" })).status).toBe(201)
    await r.start()
    await eventually(async () => (await b.post("/v1/chat/completions", ask, bearer(made.secret))).status === 200, 15_000, "B takes the key made meanwhile")
    await eventually(async () => (await b.post("/v1/chat/completions", ask, bearer(old.secret))).status === 401, 15_000, "B refuses the key revoked meanwhile")
    await eventually(async () => (await b.get("/v1/backends/gpu")).status === 200, 15_000, "B has the backend added meanwhile")
  })

  test("a Redis that comes back empty gets the keys back from the running instances, so one started later has them", async () => {
    const r = await redis()
    const { a, start } = await pair(r, { auth: { required: true } })
    const key = await createKey(a, { name: "kept" })
    await r.send("FLUSHALL", [])
    await eventually(async () => (await r.send("HEXISTS", ["nexus:keys", (a.deps.keys.table.byName("kept") as { id: string }).id])) === 1, 20_000, "the key written back")
    const c = await start()
    expect((await c.post("/v1/chat/completions", ask, bearer(key.secret))).status).toBe(200)
  })

  test("a server that requires a password: password_env names the variable, and the URL in logs never shows it", async () => {
    const r = await startRedis({ password: "s3cret-pass-9182" })
    scope.defer(r.stop)
    const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: ["gpt-4o-mini"] }))
    const config = { pricing, state: { url: r.url, password_env: "NEXUS_TEST_REDIS_PASSWORD" }, backends: [backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY" })] }
    const n = await scope.nexus(config as never, { env: { ...env, NEXUS_TEST_REDIS_PASSWORD: "s3cret-pass-9182" } })
    const cost = Number((await n.post("/v1/chat/completions", ask)).headers.get("x-nexus-cost"))
    await eventually(async () => Math.abs((await serverTotal(r)) - cost) < 1e-6, 10_000, "spend on the server")
    expect((await (await n.get("/metrics")).text()).includes("nexus_state_up 1")).toBe(true)
    await expect(scope.nexus(config as never, { env })).rejects.toThrow("[state] password_env names NEXUS_TEST_REDIS_PASSWORD, which is not set")
    expect(JSON.stringify(n.logs)).not.toContain("s3cret-pass-9182")
  })
})
