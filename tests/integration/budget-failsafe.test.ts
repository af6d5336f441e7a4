/**
 * Budgets that fail safe: a ledger file that stops taking writes (a full disk) does not
 * stop the counting, and says so in /health, /v1/stats, a metric and one log line; a
 * ledger that cannot be read at start is not "$0 spent"; concurrent requests near the
 * limit overshoot it by at most one request's estimate; a stream cut short is charged
 * what it relayed; a subscriber that throws is counted and logged.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startOllama, startOpenai } from "../../emulators/index.ts"
import type { NexusConfig } from "../../src/config/types.ts"
import { openLedger } from "../../src/persist/ledger.ts"
import { stateFile } from "../../src/persist/state-file.ts"
import { backend, chat, type TestNexus } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually } from "../helpers/wait.ts"
import { lacking } from "../helpers/skip.ts"
import { fill, tinyDisks } from "../helpers/tiny-disk.ts"

const scope = testScope()
const env = { OPENAI_TEST_KEY: "sk-failsafe-key-2718" }
// $1 per input token, $2 per output token: the arithmetic stays visible.
const pricing = { "gpt-4o-mini": { input_per_million: 1_000_000, output_per_million: 2_000_000 } }
const budgetOf = (limit: number, extra: Partial<NonNullable<NexusConfig["routing"]["budget"]>> = {}) => ({
  monthly_limit_usd: limit,
  soft_limit_percent: 100,
  hard_limit_action: "block_cloud" as const,
  ...extra,
})

async function setup(budget: NexusConfig["routing"]["budget"], opts: { dataDir?: string; cloud?: Parameters<typeof startOpenai>[0]; local?: boolean } = {}) {
  const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: ["gpt-4o-mini"], ...opts.cloud }))
  const local = opts.local ? await scope.emulator(startOllama({ models: ["llama3.2:latest"] })) : undefined
  const backends = [backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY" }), ...(local ? [backend("home", local.url, "ollama")] : [])]
  const n = await scope.nexus({ routing: { budget }, pricing, backends } as never, { env, dataDir: opts.dataDir })
  return { cloud, local, n }
}

interface BudgetStats {
  spent_usd: number
  by_model: { model: string; backend: string; spent_usd: number; requests: number; estimated_requests: number }[]
  reserved_usd: number
  ledger: { status: string; read_error?: string | null; write_error?: string | null; failed_writes?: number; unsaved_usd?: number }
}
const budgetOfStats = async (n: TestNexus) => ((await (await n.get("/v1/stats")).json()) as { budget: BudgetStats }).budget
const health = async (n: TestNexus) => (await (await n.get("/health")).json()) as { status: string; spend_ledger: BudgetStats["ledger"] }
const errorLines = (n: TestNexus, text: string) => n.logs.filter((r) => r.level === "error" && String(r.msg).includes(text))
const metric = async (n: TestNexus, line: RegExp) => Number(line.exec(await (await n.get("/metrics")).text())?.[1] ?? Number.NaN)

const disks = tinyDisks()
const tinyDisk = () => disks.make()
const canMount = tinyDisk() !== undefined

describe("a ledger that cannot be written", () => {
  test.skipIf(lacking("cannot mount a tiny tmpfs (needs root)", canMount))("a full disk: spend keeps counting to the limit, /health, /v1/stats, metrics and one log line say so; freed, it saves what it kept", async () => {
    const dataDir = tinyDisk()!
    const { n } = await setup(budgetOf(1000), { dataDir })
    const ask = () => n.post("/v1/chat/completions", chat("gpt-4o-mini", { max_tokens: 16 }))
    const first = await ask()
    const each = Number(first.headers.get("x-nexus-cost"))
    expect(each).toBeGreaterThan(0)
    expect((await health(n)).spend_ledger.status).toBe("ok")

    const filler = fill(dataDir)
    // The limit sits a few requests after the disk filled up: it must still be reached.
    n.deps.config().routing.budget!.monthly_limit_usd = each * 5
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) statuses.push((await ask()).status)
    expect(statuses).toEqual([200, 200, 200, 200, 503, 503, 503, 503])
    const stats = await budgetOfStats(n)
    expect(stats.spent_usd).toBeCloseTo(each * 5, 6)
    expect(stats.ledger.status).toBe("failing")
    expect(stats.ledger.write_error).toMatch(/full/i)
    expect(stats.ledger.unsaved_usd).toBeCloseTo(each * 4, 6)
    expect(stats.by_model).toEqual([{ model: "gpt-4o-mini", backend: "cloud", spent_usd: each * 5, requests: 5, estimated_requests: 0 }])
    const h = await health(n)
    expect(h.status).toBe("degraded")
    expect(h.spend_ledger.failed_writes).toBe(4)
    expect(await metric(n, /^nexus_ledger_errors_total\{operation="write"\} (\d+)$/m)).toBe(4)
    expect(await metric(n, /^nexus_ledger_healthy (\d+)$/m)).toBe(0)
    // Rate-limited: four failures, one line.
    expect(errorLines(n, "cannot write to the spend ledger")).toHaveLength(1)

    rmSync(filler)
    n.deps.config().routing.budget!.monthly_limit_usd = 1000
    expect((await ask()).status).toBe(200)
    expect((await health(n)).status).toBe("healthy")
    await n.stop(0)
    const again = await setup(budgetOf(1000), { dataDir })
    expect((await budgetOfStats(again.n)).spent_usd).toBeCloseTo(each * 6, 6)
  })
})

describe("a ledger that cannot be read at start", () => {
  function corrupt(): string {
    const dataDir = mkdtempSync(join(tmpdir(), "nexus-corrupt-"))
    writeFileSync(join(dataDir, "nexus.sqlite"), "this is not an SQLite database, whatever its name says ".repeat(100))
    return dataDir
  }

  test("cloud stays blocked (local still serves), said loudly at start, in /health and /v1/stats; repaired, cloud is back", async () => {
    const dataDir = corrupt()
    const { n, cloud } = await setup(budgetOf(1000), { dataDir, local: true })
    const told = errorLines(n, "cannot be read")
    expect(told.length).toBeGreaterThanOrEqual(1)
    expect(String(told.at(-1)!.msg)).toContain("BLOCKED")
    expect(String(told.at(-1)!.msg)).toContain('on_ledger_error = "open"')

    const res = await n.post("/v1/chat/completions", chat("gpt-4o-mini"))
    expect(res.status).toBe(503)
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe("budget_ledger_unreadable")
    expect(body.error.message).toContain("spend ledger cannot be read")
    expect(cloud.stats.byPath["/v1/chat/completions"] ?? 0).toBe(0)
    expect((await n.post("/v1/chat/completions", chat("llama3.2:latest"))).status).toBe(200)
    expect((await health(n)).status).toBe("degraded")
    expect((await budgetOfStats(n)).ledger.read_error).toMatch(/not a database/)

    // The operator moves the broken file away: the ledger is read again, and cloud is back.
    rmSync(join(dataDir, "nexus.sqlite"))
    await eventually(async () => (await n.post("/v1/chat/completions", chat("gpt-4o-mini"))).status === 200, 10_000, "cloud served again")
    expect((await health(n)).status).toBe("healthy")
  })

  test('on_ledger_error = "open" lets cloud through, and says so at start', async () => {
    const { n } = await setup(budgetOf(1000, { on_ledger_error: "open" }), { dataDir: corrupt() })
    expect(String(errorLines(n, "cannot be read")[0]?.msg)).toContain("stay allowed")
    expect((await n.post("/v1/chat/completions", chat("gpt-4o-mini"))).status).toBe(200)
    expect((await health(n)).status).toBe("degraded")
  })
})

describe("concurrent requests near the limit", () => {
  test("50 at once at $28.60 of $30: the overshoot is at most one request's estimate, and nothing stays reserved", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "nexus-concurrent-"))
    const seed = openLedger(stateFile(dataDir))
    seed.record({ at: Date.now(), model: "gpt-4o-mini", backend: "cloud", usd: 28.6 })
    seed.close()
    const { n, cloud } = await setup(budgetOf(30), { dataDir, cloud: { latencyMs: 100 } })
    // 10 cents a token: a prompt of 3 tokens, 8 tokens out, max_tokens 10: $1.10 each, $1.30 reserved.
    n.deps.config().pricing["gpt-4o-mini"] = { input_per_million: 100_000, output_per_million: 100_000 }
    const estimate = (3 + 10) * 0.1
    const answers = await Promise.all(Array.from({ length: 50 }, () => n.post("/v1/chat/completions", chat("gpt-4o-mini", { max_tokens: 10 }))))
    const ok = answers.filter((r) => r.status === 200).length
    expect(ok).toBeGreaterThanOrEqual(1)
    for (const r of answers.filter((a) => a.status !== 200)) expect(((await r.json()) as { error: { code: string } }).error.code).toBe("budget_exhausted")
    await eventually(async () => (await budgetOfStats(n)).reserved_usd === 0)
    const spent = (await budgetOfStats(n)).spent_usd
    expect(spent).toBeLessThanOrEqual(30 + estimate + 1e-9)
    expect(cloud.stats.completed).toBe(ok)
  })
})

describe("streams cut short", () => {
  const PROMPT_TOKENS = 3 // "Say hello", as Nexus and the emulator both count it

  async function readEvents(res: Response, count: number): Promise<void> {
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let text = ""
    while ((text.match(/"content":"[^"]/g) ?? []).length < count) {
      const { value, done } = await reader.read()
      if (done) throw new Error("the stream ended early")
      text += decoder.decode(value, { stream: true })
    }
    await reader.cancel()
  }

  test("a client that reads part of the answer and leaves pays the prompt and the tokens relayed", async () => {
    const { n, cloud } = await setup(undefined, { cloud: { chunks: 40, chunkDelayMs: 20 } })
    const res = await n.post("/v1/chat/completions", chat("gpt-4o-mini", { stream: true }))
    await readEvents(res, 5)
    await eventually(async () => cloud.stats.aborted === 1)
    await eventually(async () => (await budgetOfStats(n)).spent_usd > 0)
    // At least the prompt and the five content tokens read ($1 and $2 a token).
    expect((await budgetOfStats(n)).spent_usd).toBeGreaterThanOrEqual(PROMPT_TOKENS * 1 + 5 * 2)
  })

  test("a backend that dies mid-stream: the tokens relayed are charged too", async () => {
    const { n, cloud } = await setup(undefined, { cloud: { chunks: 20, chunkDelayMs: 5 } })
    cloud.faults.dieAfterChunks = 6
    const res = await n.post("/v1/chat/completions", chat("gpt-4o-mini", { stream: true }))
    const text = await res.text()
    expect(text).toContain("failed mid-stream")
    await eventually(async () => (await budgetOfStats(n)).spent_usd > 0)
    expect((await budgetOfStats(n)).spent_usd).toBeGreaterThanOrEqual(PROMPT_TOKENS * 1 + 6 * 2)
  })
})

describe("subscribers that throw", () => {
  test("are counted by bus and logged once per kind; the others still hear every event", async () => {
    const { n } = await setup(undefined)
    const heard: string[] = []
    n.deps.requests.on(function brokenSubscriber() {
      throw new TypeError("broken on purpose")
    })
    n.deps.requests.on((r) => heard.push(r.requestId))
    for (let i = 0; i < 3; i++) expect((await n.post("/v1/chat/completions", chat("gpt-4o-mini"))).status).toBe(200)
    await eventually(() => heard.length === 3)
    expect(await metric(n, /^nexus_event_listener_errors_total\{bus="request"\} (\d+)$/m)).toBe(3)
    const lines = errorLines(n, "brokenSubscriber")
    expect(lines).toHaveLength(1)
    expect(String(lines[0]!.msg)).toContain("broken on purpose")
    expect((await budgetOfStats(n)).spent_usd).toBeGreaterThan(0)
  })
})
