/**
 * Privacy zones are structural and tiers never silently drop: a restricted request never
 * reaches an open-zone backend (first choice, fallback, failover, queue, reload), and a
 * request never goes below the tier it needs unless the client opts in and is told.
 */
import { describe, expect, test } from "bun:test"
import { startOllama, startOpenai, startVllm } from "../../emulators/index.ts"
import type { NexusConfig } from "../../src/config/types.ts"
import { backend, chat } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually } from "../helpers/wait.ts"

const scope = testScope()
const env = { OPENAI_TEST_KEY: "sk-privacy-key-0001" }
const restricted = [{ model_pattern: "private-*", privacy: "restricted" as const }]
const chats = (e: { stats: { byPath: Record<string, number> } }) => e.stats.byPath["/v1/chat/completions"] ?? 0

async function hybrid(routing: Partial<NexusConfig["routing"]> = {}, local: { maxConcurrent?: number; latencyMs?: number } = {}) {
  const home = await scope.emulator(startVllm({ models: ["private-llm", "llama3"], latencyMs: local.latencyMs }))
  const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: ["private-llm", "gpt-4o-mini"] }))
  const n = await scope.nexus(
    {
      routing: { policies: restricted, ...routing },
      backends: [
        backend("home", home.url, "vllm", { priority: 90, max_concurrent: local.maxConcurrent }),
        backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY", priority: 1 }),
      ],
    },
    { env }
  )
  return { home, cloud, n }
}

describe("privacy zones", () => {
  test("a restricted model goes local even when the cloud scores better; others go local first too", async () => {
    const { home, cloud, n } = await hybrid()
    const res = await n.post("/v1/chat/completions", chat("private-llm"))
    expect(res.status).toBe(200)
    expect(res.headers.get("x-nexus-backend")).toBe("home")
    expect(res.headers.get("x-nexus-backend-type")).toBe("local")
    expect(chats(home)).toBe(1)
    expect(chats(cloud)).toBe(0)
  })

  test("local first: an open model both serve goes to the local backend though the cloud scores better", async () => {
    const home = await scope.emulator(startVllm({ models: ["llama3"] }))
    const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: ["llama3"] }))
    const n = await scope.nexus(
      { backends: [backend("home", home.url, "vllm", { priority: 90 }), backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY", priority: 1 })] },
      { env }
    )
    for (let i = 0; i < 3; i++) {
      const res = await n.post("/v1/chat/completions", chat("llama3"))
      expect([res.status, res.headers.get("x-nexus-backend")]).toEqual([200, "home"])
      await res.text()
    }
    expect(chats(cloud)).toBe(0)
  })

  test("the only local backend fails mid-retry: the request fails, it never fails over to the cloud", async () => {
    const { home, cloud, n } = await hybrid()
    home.faults.status = 500
    const res = await n.post("/v1/chat/completions", chat("private-llm"))
    expect(res.status).toBeGreaterThanOrEqual(500)
    expect(chats(home)).toBeGreaterThan(0)
    expect(chats(cloud)).toBe(0)
  })

  test("privacy the only obstacle: 503 saying the request is restricted and which backends were excluded for their zone", async () => {
    const { home, cloud, n } = await hybrid()
    await home.stop()
    await n.deps.health.checkAll()
    await n.deps.health.checkAll()
    await n.deps.health.checkAll()
    const res = await n.post("/v1/chat/completions", chat("private-llm"))
    expect(res.status).toBe(503)
    const body = (await res.json()) as { error: { message: string; code: string }; context: { privacy: string; excluded_for_zone: string[] } }
    expect(body.error.code).toBe("privacy_zone_restricted")
    expect(body.error.message).toContain("restricted")
    expect(body.context.privacy).toBe("restricted")
    expect(body.context.excluded_for_zone).toEqual(["cloud"])
    expect(res.headers.get("x-nexus-rejection-reasons")).toContain("cloud: privacy")
    expect(chats(cloud)).toBe(0)
  })

  test("a fallback chain that leads to the cloud is cut for restricted requests, taken by others at once when local is full", async () => {
    const { home, cloud, n } = await hybrid({ fallbacks: { "private-llm": ["gpt-4o-mini"], llama3: ["gpt-4o-mini"] } }, { maxConcurrent: 1, latencyMs: 400 })
    const busy = n.post("/v1/chat/completions", chat("llama3"))
    await eventually(() => home.stats.inFlight === 1)
    // Unrestricted: overflow to the cloud through the chain, without queueing.
    const over = await n.post("/v1/chat/completions", chat("llama3"))
    expect(over.status).toBe(200)
    expect(over.headers.get("x-nexus-backend-type")).toBe("cloud")
    expect(over.headers.get("x-nexus-fallback-model")).toBe("gpt-4o-mini")
    expect(over.headers.get("x-nexus-route-reason")).toContain("fallback")
    // Restricted: the chain's cloud hop is excluded; it waits for the local slot instead.
    const priv = await n.post("/v1/chat/completions", chat("private-llm"))
    expect(priv.status).toBe(200)
    expect(priv.headers.get("x-nexus-backend")).toBe("home")
    expect((await busy).status).toBe(200)
    expect(cloud.stats.bodies.map((b) => JSON.parse(b).model)).toEqual(["gpt-4o-mini"])
  })

  test("X-Nexus-Privacy tightens any request and never loosens a restricted one", async () => {
    const { cloud, home, n } = await hybrid()
    await home.stop()
    for (let i = 0; i < 3; i++) await n.deps.health.checkAll()
    expect((await n.post("/v1/chat/completions", chat("gpt-4o-mini"), { "x-nexus-privacy": "restricted" })).status).toBe(503)
    expect((await n.post("/v1/chat/completions", chat("private-llm"), { "x-nexus-privacy": "unrestricted" })).status).toBe(503)
    expect(chats(cloud)).toBe(0)
    expect((await n.post("/v1/chat/completions", chat("gpt-4o-mini"))).status).toBe(200)
  })

  test("a reload that opens a zone while a restricted request is queued: it never goes there", async () => {
    const a = await scope.emulator(startOllama({ models: ["private-llm"], latencyMs: 500 }))
    const b = await scope.emulator(startOllama({ models: ["private-llm"], latencyMs: 150 }))
    const base = (zoneB: "restricted" | "open"): NexusConfig["backends"] => [
      backend("a", a.url, "ollama", { max_concurrent: 1 }),
      backend("b", b.url, "ollama", { max_concurrent: 1, zone: zoneB }),
    ]
    let next = base("restricted")
    const n = await scope.nexus({ routing: { policies: restricted }, backends: next }, { loadConfig: async () => ({ ...n.deps.config(), backends: next }) })
    const first = [n.post("/v1/chat/completions", chat("private-llm")), n.post("/v1/chat/completions", chat("private-llm"))]
    await eventually(() => a.stats.inFlight === 1 && b.stats.inFlight === 1)
    const queued = n.post("/v1/chat/completions", chat("private-llm"))
    await eventually(() => n.deps.queue.size === 1)
    next = base("open")
    await n.reload()
    expect(n.deps.registry.get("b")!.zone).toBe("open")
    const res = await queued
    expect(res.status).toBe(200)
    expect(res.headers.get("x-nexus-backend")).toBe("a")
    await Promise.all(first)
    expect(b.stats.completed).toBe(1)
  })
})

describe("privacy zones on failover", () => {
  test("a reload that opens the next candidate's zone during an attempt: failover skips it", async () => {
    const a = await scope.emulator(startOllama({ models: ["private-llm"], latencyMs: 300 }))
    const b = await scope.emulator(startOllama({ models: ["private-llm"] }))
    const base = (zoneB: "restricted" | "open"): NexusConfig["backends"] => [
      backend("a", a.url, "ollama", { priority: 1 }),
      backend("b", b.url, "ollama", { priority: 90, zone: zoneB }),
    ]
    let next = base("restricted")
    const n = await scope.nexus({ routing: { policies: restricted }, backends: next }, { loadConfig: async () => ({ ...n.deps.config(), backends: next }) })
    a.faults.status = 500
    const pending = n.post("/v1/chat/completions", chat("private-llm"))
    await eventually(() => a.stats.inFlight === 1)
    next = base("open")
    await n.reload()
    const res = await pending
    expect(res.status).toBeGreaterThanOrEqual(500)
    const body = (await res.json()) as { context: { attempts: { backend: string; kind: string }[] } }
    expect(body.context.attempts).toContainEqual(expect.objectContaining({ backend: "b", kind: "policy" }))
    expect(b.stats.bodies.length).toBe(0)
  })
})

describe("capability tiers", () => {
  async function tiers() {
    const big = await scope.emulator(startVllm({ models: ["llama3:70b"] }))
    const small = await scope.emulator(startOllama({ models: ["llama3:8b"] }))
    const n = await scope.nexus({
      routing: { fallbacks: { "llama3:70b": ["llama3:8b"] } },
      backends: [backend("big", big.url, "vllm", { tier: 4 }), backend("small", small.url, "ollama", { tier: 2 })],
    })
    return { big, small, n }
  }

  test("strict by default: no fallback or failover to a lower tier; 503 naming the tier needed", async () => {
    const { big, small, n } = await tiers()
    big.faults.status = 500
    const failed = await n.post("/v1/chat/completions", chat("llama3:70b"))
    expect(failed.status).toBeGreaterThanOrEqual(500)
    expect(small.stats.completed).toBe(0)
    await big.stop()
    for (let i = 0; i < 3; i++) await n.deps.health.checkAll()
    const res = await n.post("/v1/chat/completions", chat("llama3:70b"), { "x-nexus-strict": "true" })
    expect(res.status).toBe(503)
    const body = (await res.json()) as { error: { message: string; code: string }; context: { required_tier: number } }
    expect(body.error.code).toBe("tier_unavailable")
    expect(body.error.message).toContain("tier 4")
    expect(body.context.required_tier).toBe(4)
    expect(small.stats.completed).toBe(0)
  })

  test("X-Nexus-Flexible: the best lower tier, and the response says so", async () => {
    const { big, n } = await tiers()
    await big.stop()
    for (let i = 0; i < 3; i++) await n.deps.health.checkAll()
    const res = await n.post("/v1/chat/completions", chat("llama3:70b"), { "x-nexus-flexible": "true" })
    expect(res.status).toBe(200)
    expect(res.headers.get("x-nexus-backend")).toBe("small")
    expect(res.headers.get("x-nexus-tier-downgraded")).toBe("4->2")
  })

  test("X-Nexus-Flexible: the downgrade told is the one policy decided, even if the fleet changes while it is answered", async () => {
    const big = await scope.emulator(startVllm({ models: ["llama3:70b"] }))
    const small = await scope.emulator(startOllama({ models: ["llama3:8b"], latencyMs: 2000 }))
    const n = await scope.nexus({
      routing: { fallbacks: { "llama3:70b": ["llama3:8b"] } },
      backends: [backend("big", big.url, "vllm", { tier: 4 }), backend("small", small.url, "ollama", { tier: 2 })],
    })
    await big.stop()
    for (let i = 0; i < 3; i++) await n.deps.health.checkAll()
    const answer = n.post("/v1/chat/completions", chat("llama3:70b"), { "x-nexus-flexible": "true" })
    await eventually(() => small.stats.inFlight === 1)
    // The only tier-4 backend leaves while the tier-2 one is still answering.
    n.deps.manager.removeBackend("big")
    const res = await answer
    expect(res.status).toBe(200)
    expect(res.headers.get("x-nexus-backend")).toBe("small")
    expect(res.headers.get("x-nexus-tier-downgraded")).toBe("4->2")
  })

  test("a policy's min_tier wins over the best backend's tier; the route explainer shows each verdict", async () => {
    const { n } = await tiers()
    n.deps.config().routing.policies = [{ model_pattern: "llama3:*", privacy: "restricted", min_tier: 5 }]
    const res = await n.post("/v1/chat/completions", chat("llama3:70b"))
    expect(res.status).toBe(503)
    const plan = (await (await n.post("/v1/nexus/route", chat("llama3:70b"))).json()) as { excluded: { backend: string; policy: Record<string, unknown> }[] }
    const big = plan.excluded.find((e) => e.backend === "big")!
    expect(big.policy).toMatchObject({ backend_zone: "restricted", backend_tier: 4, privacy_zone: "allowed", budget: "allowed" })
    expect(big.policy.tier).toBe("tier: tier 4 is below the required tier 5 (policy min_tier)")
  })

  test("a backend exactly at the required tier serves; X-Nexus-Min-Tier at its tier too", async () => {
    const { n } = await tiers()
    n.deps.config().routing.policies = [{ model_pattern: "llama3:*", privacy: "unrestricted", min_tier: 4 }]
    const res = await n.post("/v1/chat/completions", chat("llama3:70b"))
    expect([res.status, res.headers.get("x-nexus-backend")]).toEqual([200, "big"])
    n.deps.config().routing.policies = []
    const small = await n.post("/v1/chat/completions", chat("llama3:8b"), { "x-nexus-min-tier": "2" })
    expect([small.status, small.headers.get("x-nexus-backend")]).toEqual([200, "small"])
  })
})
