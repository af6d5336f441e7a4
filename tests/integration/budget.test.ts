/**
 * Budgets that hold: spend from the usage backends report (streams whose client did not
 * ask for usage included), kept across restarts, limits that act, and headers, metrics,
 * stats and costs that tell the client and the operator.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startAnthropic, startOllama, startOpenai } from "../../emulators/index.ts"
import type { NexusConfig } from "../../src/config/types.ts"
import { monthOf, openLedger } from "../../src/persist/ledger.ts"
import { stateFile } from "../../src/persist/state-file.ts"
import { backend, chat } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually } from "../helpers/wait.ts"

const scope = testScope()
const env = { OPENAI_TEST_KEY: "sk-budget-key-3141", ANTHROPIC_TEST_KEY: "sk-ant-budget-2718" }
// Round prices make the arithmetic visible: $1 per input token, $2 per output token.
const pricing = { "gpt-4o-mini": { input_per_million: 1_000_000, output_per_million: 2_000_000 }, "claude-*": { input_per_million: 1_000_000, output_per_million: 2_000_000 } }

async function setup(budget?: NexusConfig["routing"]["budget"], opts: { dataDir?: string; latencyMs?: number; local?: boolean } = {}) {
  const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: ["gpt-4o-mini"], latencyMs: opts.latencyMs }))
  const claude = await scope.emulator(startAnthropic({ apiKey: env.ANTHROPIC_TEST_KEY, models: ["claude-haiku-4-5"] }))
  const local = opts.local ? await scope.emulator(startOllama({ models: ["gpt-4o-mini"] })) : undefined
  const backends = [
    backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY" }),
    backend("claude", claude.url, "anthropic", { api_key_env: "ANTHROPIC_TEST_KEY" }),
    ...(local ? [backend("home", local.url, "ollama")] : []),
  ]
  const n = await scope.nexus({ routing: { budget }, pricing, backends } as never, { env, dataDir: opts.dataDir })
  return { cloud, claude, local, n }
}

const spent = async (n: { get(p: string): Promise<Response> }) => ((await (await n.get("/v1/stats")).json()) as { budget: { spent_usd: number } }).budget.spent_usd

describe("spend from real usage", () => {
  test("non-streamed: X-Nexus-Cost from the reported usage, costUsd on the record, metrics and stats", async () => {
    const { n } = await setup({ monthly_limit_usd: 1000, soft_limit_percent: 75, hard_limit_action: "block_cloud" })
    const records: { costUsd?: number }[] = []
    n.deps.requests.on((r) => records.push(r))
    const res = await n.post("/v1/chat/completions", chat("gpt-4o-mini"))
    const body = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } }
    const expected = body.usage.prompt_tokens * 1 + body.usage.completion_tokens * 2
    expect(Number(res.headers.get("x-nexus-cost"))).toBeCloseTo(expected, 6)
    expect(res.headers.get("x-nexus-budget-status")).toBe("normal")
    // The headers count this request's own cost: it is known before they are sent.
    expect(Number(res.headers.get("x-nexus-budget-remaining"))).toBeCloseTo(1000 - expected, 3)
    expect(records[0]!.costUsd).toBeCloseTo(expected, 6)
    expect(await spent(n)).toBeCloseTo(expected, 6)
    const metrics = await (await n.get("/metrics")).text()
    expect(metrics).toContain(`nexus_cost_usd_total{backend="cloud",model="gpt-4o-mini"} ${expected}`)
    expect(metrics).toContain("nexus_budget_limit_usd 1000")
    expect(metrics).toMatch(/nexus_budget_spending_usd \d/)
  })

  test("streams the client did not ask usage for still count; Anthropic streams count from message_delta", async () => {
    const { n, cloud } = await setup()
    const s = await n.post("/v1/chat/completions", chat("gpt-4o-mini", { stream: true }))
    expect(await s.text()).not.toContain('"usage"')
    await eventually(async () => (await spent(n)) > 0)
    const afterOpenai = await spent(n)
    const billed = JSON.parse(cloud.stats.bodies.at(-1)!).stream_options
    expect(billed).toEqual({ include_usage: true })
    const a = await n.post("/v1/chat/completions", chat("claude-haiku-4-5", { stream: true }))
    expect(await a.text()).not.toContain('"usage"')
    await eventually(async () => (await spent(n)) > afterOpenai)
    const rows = ((await (await n.get("/v1/stats")).json()) as { budget: { by_model: { model: string; backend: string; estimated_requests: number }[] } }).budget.by_model
    expect(rows.map((r) => r.backend).sort()).toEqual(["claude", "cloud"])
    expect(rows.every((r) => r.estimated_requests === 0)).toBe(true)
  })

  test("embeddings are counted too", async () => {
    const { n, cloud } = await setup()
    cloud.setModels(["gpt-4o-mini", "text-embedding-3-small"])
    await n.deps.health.checkOne(n.deps.registry.get("cloud")!)
    n.deps.config().pricing["text-embedding-*"] = { input_per_million: 1_000_000, output_per_million: 0 }
    const res = await n.post("/v1/embeddings", { model: "text-embedding-3-small", input: "hello there" })
    expect(res.status).toBe(200)
    const { usage } = (await res.json()) as { usage: { prompt_tokens: number } }
    expect(Number(res.headers.get("x-nexus-cost"))).toBe(usage.prompt_tokens)
    expect(await spent(n)).toBe(usage.prompt_tokens)
  })

  test("a request the cloud refused (400) costs nothing; the next served one costs what its usage says", async () => {
    const { n, cloud } = await setup({ monthly_limit_usd: 1000, soft_limit_percent: 75, hard_limit_action: "block_cloud" })
    cloud.faults.status = 400
    const refused = await n.post("/v1/chat/completions", chat("gpt-4o-mini"))
    expect(refused.status).toBe(400)
    await refused.text()
    cloud.faults.status = undefined
    const served = await n.post("/v1/chat/completions", chat("gpt-4o-mini"))
    expect(served.status).toBe(200)
    const cost = Number(served.headers.get("x-nexus-cost"))
    expect(cost).toBeGreaterThan(0)
    await served.text()
    // Spend is recorded in order: once the served request is in, the refused one was looked at.
    await eventually(async () => (await spent(n)) >= cost - 1e-9)
    expect(await spent(n)).toBeCloseTo(cost, 9)
  })

  test("local backends cost nothing", async () => {
    const { n } = await setup(undefined, { local: true })
    const res = await n.post("/v1/chat/completions", chat("gpt-4o-mini"))
    expect(res.headers.get("x-nexus-backend")).toBe("home")
    expect(res.headers.get("x-nexus-cost")).toBe("0.000000")
    expect(res.headers.get("x-nexus-budget-status")).toBeNull()
    expect(await spent(n)).toBe(0)
  })
})

describe("limits", () => {
  test("the limit crossed by concurrent requests: each reserves its worst cost, so the overshoot is one request's; then a 503 naming limit and spend", async () => {
    const { n, cloud } = await setup({ monthly_limit_usd: 1, soft_limit_percent: 75, hard_limit_action: "block_cloud" }, { latencyMs: 150 })
    // The first reserves its prompt and max_tokens (3 + 2 x 8 = $19), past the limit: the others are refused.
    const burst = await Promise.all(Array.from({ length: 5 }, () => n.post("/v1/chat/completions", chat("gpt-4o-mini", { max_tokens: 8 }))))
    expect(burst.map((r) => r.status).sort()).toEqual([200, 503, 503, 503, 503])
    const refused = (await burst.find((r) => r.status === 503)!.json()) as { error: { message: string } }
    expect(refused.error.message).toContain("reserved by requests in flight")
    await eventually(async () => (await spent(n)) >= 1)
    expect(await spent(n)).toBeLessThanOrEqual(1 + 3 + 2 * 8)
    const blocked = await n.post("/v1/chat/completions", chat("gpt-4o-mini"))
    expect(blocked.status).toBe(503)
    const body = (await blocked.json()) as { error: { message: string; code: string } }
    expect(body.error.code).toBe("budget_exhausted")
    expect(body.error.message).toContain("monthly budget is exhausted")
    expect(body.error.message).toContain("$1.00 limit")
    expect(blocked.headers.get("x-nexus-budget-status")).toBe("hard_limit")
    expect(blocked.headers.get("x-nexus-budget-remaining")).toBe("0.0000")
    expect(cloud.stats.completed).toBe(1)
  })

  test("block_all refuses everything; warn lets it through; soft limit keeps the cloud for what local cannot serve", async () => {
    const { n, local } = await setup({ monthly_limit_usd: 0, soft_limit_percent: 75, hard_limit_action: "block_all" }, { local: true })
    const all = await n.post("/v1/chat/completions", chat("gpt-4o-mini"))
    expect(all.status).toBe(503)
    expect(((await all.json()) as { error: { code: string } }).error.code).toBe("budget_exhausted")
    n.deps.config().routing.budget!.hard_limit_action = "warn"
    expect((await n.post("/v1/chat/completions", chat("claude-haiku-4-5"))).status).toBe(200)
    n.deps.config().routing.budget = { monthly_limit_usd: 10_000_000, soft_limit_percent: 0, hard_limit_action: "block_cloud" }
    const soft = await n.post("/v1/chat/completions", chat("gpt-4o-mini"))
    expect(soft.headers.get("x-nexus-budget-status")).toBe("soft_limit")
    expect(soft.headers.get("x-nexus-backend")).toBe("home")
    expect((await n.post("/v1/chat/completions", chat("claude-haiku-4-5"))).headers.get("x-nexus-backend")).toBe("claude")
    expect(local!.stats.completed).toBe(1)
  })

  test("spend exactly at the limit is the hard limit, exactly at the percentage the soft limit; at the soft limit a drained local backend leaves the cloud open", async () => {
    const { n } = await setup({ monthly_limit_usd: 10_000_000, soft_limit_percent: 0, hard_limit_action: "block_cloud" }, { local: true })
    expect((await n.post("/v1/backends/home/drain", {})).status).toBe(200)
    const soft = await n.post("/v1/chat/completions", chat("gpt-4o-mini"))
    expect([soft.status, soft.headers.get("x-nexus-budget-status"), soft.headers.get("x-nexus-backend")]).toEqual([200, "soft_limit", "cloud"])
    await soft.text()
    const once = await spent(n)
    expect(once).toBeGreaterThan(0)
    // Spend exactly at the soft percentage is the soft limit (a local answer reserves nothing).
    Object.assign(n.deps.config().routing.budget!, { monthly_limit_usd: once * 2, soft_limit_percent: 50 })
    expect((await n.post("/v1/backends/home/undrain", {})).status).toBe(200)
    await eventually(() => n.deps.registry.get("home")!.status === "healthy", 10_000, "home serving again")
    const atSoft = await n.post("/v1/chat/completions", chat("gpt-4o-mini"))
    expect([atSoft.status, atSoft.headers.get("x-nexus-budget-status"), atSoft.headers.get("x-nexus-backend")]).toEqual([200, "soft_limit", "home"])
    await atSoft.text()
    n.deps.config().routing.budget!.monthly_limit_usd = once
    const atLimit = await n.post("/v1/chat/completions", chat("claude-haiku-4-5"))
    expect(atLimit.status).toBe(503)
    expect(await atLimit.text()).toContain("budget")
  })

  test("a restart in the middle of the month keeps the month's spend", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nexus-budget-"))
    const budget = { monthly_limit_usd: 1000, soft_limit_percent: 75, hard_limit_action: "block_cloud" as const }
    const first = await setup(budget, { dataDir: dir })
    await first.n.post("/v1/chat/completions", chat("gpt-4o-mini"))
    const before = await spent(first.n)
    expect(before).toBeGreaterThan(0)
    await first.n.stop(0)
    const second = await setup(budget, { dataDir: dir })
    expect(await spent(second.n)).toBeCloseTo(before, 9)
  })

  test("the month rolls over at 00:00 UTC on the 1st", () => {
    const ledger = openLedger(stateFile(undefined))
    const lastMinute = Date.UTC(2026, 10, 30, 23, 59, 59)
    ledger.record({ at: lastMinute, model: "gpt-4o", backend: "cloud", usd: 5 })
    expect(ledger.monthToDate(lastMinute)).toBe(5)
    expect(monthOf(Date.UTC(2026, 11, 1, 0, 0, 0))).toBe("2026-12")
    expect(ledger.monthToDate(Date.UTC(2026, 11, 1, 0, 0, 0))).toBe(0)
    ledger.close()
  })
})
