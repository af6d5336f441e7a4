/**
 * The state file is written when there is something to keep: a gateway that only
 * forwards to local backends never creates it (nor loads SQLite), the first runtime
 * backend or the first cloud cost does, and what was kept is there after a restart.
 * A data directory Nexus cannot use is said once at start; it then keeps state in memory.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startOllama, startOpenai } from "../../emulators/index.ts"
import { openLedger } from "../../src/persist/ledger.ts"
import { stateFile } from "../../src/persist/state-file.ts"
import { openStore } from "../../src/persist/store.ts"
import { backend, chat } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"

const scope = testScope()
const freshDir = (tag: string) => mkdtempSync(join(tmpdir(), `nexus-state-${tag}-`))
const stateIn = (dir: string) => join(dir, "nexus.sqlite")

describe("state file", () => {
  test("serving, stats and metrics write nothing; the first runtime backend creates the file and survives a restart", async () => {
    const dataDir = freshDir("lazy")
    const ollama = await scope.emulator(startOllama({ models: ["llama3.2:latest"] }))
    const extra = await scope.emulator(startOllama({ models: ["qwen2.5:7b"] }))
    const first = await scope.nexus({ backends: [backend("home", ollama.url, "ollama")] }, { dataDir })

    expect((await first.post("/v1/chat/completions", chat("llama3.2:latest"))).status).toBe(200)
    const stats = (await (await first.get("/v1/stats")).json()) as { budget: { spent_usd: number } }
    expect(stats.budget.spent_usd).toBe(0)
    expect((await first.get("/metrics")).status).toBe(200)
    expect((await first.get("/v1/backends")).status).toBe(200)
    expect(existsSync(stateIn(dataDir))).toBe(false)

    expect((await first.post("/v1/backends", { url: extra.url, name: "spare" })).status).toBe(201)
    expect(existsSync(stateIn(dataDir))).toBe(true)
    await first.stop(0)

    const second = await scope.nexus({ backends: [backend("home", ollama.url, "ollama")] }, { dataDir })
    expect(second.deps.registry.list().map((b) => b.name).sort()).toEqual(["home", "spare"])
  })

  test("the first cloud cost creates the file; month-to-date spend is read back after a restart", async () => {
    const dataDir = freshDir("spend")
    const env = { OPENAI_TEST_KEY: "sk-state-1618" }
    const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: ["gpt-4o-mini"] }))
    const config = {
      backends: [backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY" })],
      pricing: { "gpt-4o-mini": { input_per_million: 1_000_000, output_per_million: 2_000_000 } },
    }
    const first = await scope.nexus(config as never, { env, dataDir })
    expect(existsSync(stateIn(dataDir))).toBe(false)
    const res = await first.post("/v1/chat/completions", chat("gpt-4o-mini"))
    expect(res.status).toBe(200)
    const cost = Number(res.headers.get("x-nexus-cost"))
    expect(cost).toBeGreaterThan(0)
    expect(existsSync(stateIn(dataDir))).toBe(true)
    await first.stop(0)

    const second = await scope.nexus(config as never, { env, dataDir })
    const stats = (await (await second.get("/v1/stats")).json()) as { budget: { spent_usd: number } }
    expect(stats.budget.spent_usd).toBeCloseTo(cost, 6)
  })

  test("reads of a directory that holds no state file do not create one", () => {
    const dir = freshDir("reads")
    const file = stateFile(dir)
    const ledger = openLedger(file)
    const store = openStore(file)
    expect(ledger.monthToDate()).toBe(0)
    expect(ledger.rows()).toEqual([])
    expect(store.backends()).toEqual([])
    store.deleteBackend("nothing")
    expect(existsSync(stateIn(dir))).toBe(false)
    ledger.record({ at: Date.now(), model: "m", backend: "b", usd: 0.5 })
    expect(existsSync(stateIn(dir))).toBe(true)
    expect(ledger.monthToDate()).toBe(0.5)
    ledger.close()
  })

  test("a data directory that cannot be created is said once; runtime backends still work, in memory", async () => {
    const parent = freshDir("blocked")
    writeFileSync(join(parent, "file"), "not a directory")
    const dataDir = join(parent, "file", "nexus")
    const ollama = await scope.emulator(startOllama({ models: ["llama3.2:latest"] }))
    const n = await scope.nexus({}, { dataDir })
    const warnings = n.logs.filter((r) => r.level === "warn").map((r) => String(r.msg))
    expect(warnings.filter((m) => m.includes("will not survive a restart"))).toHaveLength(1)
    expect(warnings[0]).toContain(dataDir)
    expect((await n.post("/v1/backends", { url: ollama.url, name: "home" })).status).toBe(201)
    expect((await n.post("/v1/chat/completions", chat("llama3.2:latest"))).status).toBe(200)
  })
})
