/**
 * Keys fail safe: a key's spend that the state file cannot take (a full disk) is still
 * counted to its cap, said once, and saved when the disk has room again; keys that cannot
 * be read at start let nobody in, and making one then is a clear 503, not a crash.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startOpenai } from "../../emulators/index.ts"
import { bearer, createKey } from "../helpers/keys.ts"
import { backend, chat, type TestNexus } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually } from "../helpers/wait.ts"
import { lacking } from "../helpers/skip.ts"
import { fill, tinyDisks } from "../helpers/tiny-disk.ts"

const scope = testScope()
const env = { OPENAI_TEST_KEY: "sk-keys-failsafe-0007" }
const pricing = { "gpt-4o-mini": { input_per_million: 1_000_000, output_per_million: 2_000_000 } }

async function setup(dataDir: string) {
  const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: ["gpt-4o-mini"] }))
  const n = await scope.nexus({ auth: { required: true }, pricing, backends: [backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY" })] } as never, { env, dataDir })
  return n
}
const usageOf = async (n: TestNexus, name: string) => ((await (await n.get(`/v1/keys/${name}`)).json()) as any).usage

const disks = tinyDisks()
const tinyDisk = () => disks.make()
const canMount = tinyDisk() !== undefined

describe("a key's spend on a full disk", () => {
  test.skipIf(lacking("cannot mount a tiny tmpfs (needs root)", canMount))("keeps counting to the cap, is said once, and is saved once there is room", async () => {
    const dataDir = tinyDisk()!
    const n = await setup(dataDir)
    const capped = await createKey(n, { name: "capped", monthly_usd: 1000 })
    const other = await createKey(n, { name: "other" })
    const ask = (secret: string) => n.post("/v1/chat/completions", chat("gpt-4o-mini", { max_tokens: 16 }), bearer(secret))
    const first = await ask(capped.secret)
    const each = Number(first.headers.get("x-nexus-cost"))
    expect(each).toBeGreaterThan(0)
    await eventually(async () => (await usageOf(n, "capped")).spent_usd > 0)

    const filler = fill(dataDir)
    // The cap sits a few requests after the disk filled up: it must still be reached.
    const key = n.deps.keys.table.byName("capped")!
    key.monthlyUsd = each * 4
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await ask(capped.secret)).status)
    expect(statuses).toEqual([200, 200, 200, 503, 503, 503])
    const usage = await usageOf(n, "capped")
    expect(usage.spent_usd).toBeCloseTo(each * 4, 6)
    expect(usage.unsaved_usd).toBeCloseTo(each * 3, 6)
    expect(n.logs.filter((l) => l.level === "error" && String(l.msg).includes("spend of API keys"))).toHaveLength(1)

    rmSync(filler)
    // The next cost recorded (any key's) writes what was kept.
    expect((await ask(other.secret)).status).toBe(200)
    await eventually(async () => (await usageOf(n, "capped")).unsaved_usd === 0)
    await n.stop(0)
    const again = await setup(dataDir)
    expect((await usageOf(again, "capped")).spent_usd).toBeCloseTo(each * 4, 6)
  })
})

describe("keys that cannot be read at start", () => {
  test("nobody gets in, it is said at start, and making a key is a 503 that says why", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "nexus-keys-corrupt-"))
    writeFileSync(join(dataDir, "nexus.sqlite"), "this is not an SQLite database, whatever its name says ".repeat(100))
    const n = await setup(dataDir)
    expect(n.logs.some((l) => l.level === "error" && String(l.msg).includes("cannot read the API keys"))).toBe(true)
    expect((await n.post("/v1/chat/completions", chat("gpt-4o-mini"), bearer("nx-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))).status).toBe(401)
    const made = await n.post("/v1/keys", { name: "alice" })
    expect(made.status).toBe(503)
    expect(((await made.json()) as any).error.message).toContain("state file cannot be written")
  })
})
