/**
 * The budget's promise under concurrency, for generated inputs: however many cloud
 * requests arrive at once, at whatever prices, prompt sizes and output budgets, with
 * whatever headroom left under the limit and whichever of them the backend fails or
 * streams, month-to-date spend ends at most one request's estimate (its prompt and its
 * max_tokens at the model's price) past the limit, and nothing stays reserved.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import fc from "fast-check"
import { startOpenai, type Emulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { eventually } from "../helpers/wait.ts"

const KEY = "sk-property-key-1414"
// The emulator writes this many tokens whatever max_tokens says; requests ask for at least as many.
const CHUNKS = 8

let cloud: Emulator
let n: TestNexus

beforeAll(async () => {
  cloud = await startOpenai({ apiKey: KEY, models: ["gpt-4o-mini"], chunks: CHUNKS, latencyMs: 5 })
  const budget = { monthly_limit_usd: 0, soft_limit_percent: 100, hard_limit_action: "block_cloud" }
  // Failures here are generated on purpose: they must not open the backend's circuit.
  const circuit_breaker = { failure_threshold: 1_000_000, cooldown_seconds: 1 }
  n = await startNexus({ routing: { budget, circuit_breaker }, backends: [backend("cloud", cloud.url, "openai", { api_key_env: "KEY" })] } as never, { env: { KEY } })
})

afterAll(async () => {
  await n.stop(0)
  await cloud.stop()
})

const spent = () => n.deps.spend.ledger.monthToDate()
const reserved = () => n.deps.spend.status()!.reservedUsd ?? 0

test("concurrent cloud requests overshoot the limit by at most one request's estimate, and every reservation is given back", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        concurrency: fc.integer({ min: 1, max: 30 }),
        // USD per million tokens, up to $2 a token.
        input: fc.integer({ min: 0, max: 2_000_000 }),
        output: fc.integer({ min: 1, max: 2_000_000 }),
        promptChars: fc.integer({ min: 1, max: 400 }),
        maxTokens: fc.integer({ min: CHUNKS, max: 64 }),
        /** Headroom under the limit, in estimates of one request. */
        headroom: fc.oneof(fc.constant(0), fc.double({ min: 0.01, max: 6, noNaN: true })),
        /** The first requests the backend fails with a 500 (the rest succeed). */
        failing: fc.integer({ min: 0, max: 5 }),
        stream: fc.boolean(),
      }),
      async (c) => {
        n.deps.config().pricing["gpt-4o-mini"] = { input_per_million: c.input, output_per_million: c.output }
        const estimate = (Math.ceil(c.promptChars / 4) * c.input + c.maxTokens * c.output) / 1_000_000
        const before = spent()
        const limit = before + c.headroom * estimate
        n.deps.config().routing.budget!.monthly_limit_usd = limit
        if (c.failing) Object.assign(cloud.faults, { status: 500, statusCount: c.failing })
        const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(c.promptChars) }], max_tokens: c.maxTokens, stream: c.stream }
        const answers = await Promise.all(
          Array.from({ length: c.concurrency }, async () => {
            const res = await n.post("/v1/chat/completions", body)
            await res.text()
            return res.status
          })
        )
        Object.assign(cloud.faults, { status: undefined, statusCount: undefined })
        await eventually(() => reserved() === 0, 10_000, "every reservation given back")
        expect(spent()).toBeLessThanOrEqual(limit + estimate + 1e-9 * (1 + limit))
        // Headroom left means the first request at least went out.
        if (c.headroom > 0) expect(answers.some((s) => s !== 503)).toBe(true)
        // And what went out was paid for: output costs something at every generated price.
        if (answers.includes(200)) expect(spent()).toBeGreaterThan(before)
        expect(n.inFlight()).toBe(0)
      }
    ),
    { numRuns: 200 }
  )
})
