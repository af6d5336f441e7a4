import { describe, expect, test } from "bun:test"
import type { RoutingConfig } from "../../src/config/types.ts"
import { createRegistry } from "../../src/registry/registry.ts"
import type { BackendRecord, ModelInfo } from "../../src/core/backend.ts"
import { createBreakers } from "../../src/routing/breaker.ts"
import { chatRequirements, noRequirements } from "../../src/ingress/openai/requirements.ts"
import { createRouter } from "../../src/routing/router.ts"

function routing(over: Partial<RoutingConfig> = {}): RoutingConfig {
  return {
    strategy: "smart",
    max_retries: 2,
    weights: { priority: 50, load: 30, latency: 20, warm: 0, errors: 0 },
    aliases: {},
    fallbacks: {},
    circuit_breaker: { failure_threshold: 3, cooldown_seconds: 30 },
    policies: [],
    ...over,
  }
}

function backend(name: string, models: (string | ModelInfo)[], extra: Partial<BackendRecord> = {}): BackendRecord {
  return {
    id: name,
    name,
    url: `http://${name}:1`,
    type: "vllm",
    priority: 50,
    zone: "restricted",
    tier: 1,
    source: "config",
    status: "healthy",
    models: new Map(models.map((m) => (typeof m === "string" ? [m, { id: m, capabilities: {} }] : [m.id, m]))),
    stats: { inFlight: 0, requests: 0, errors: 0, errorRate: 0 },
    ...extra,
  }
}

/**
 * Register the fixtures. The router is a pure read of the registry, so the tests stage
 * load and latency by writing the counters the registry shares with the fixture.
 */
function setup(backends: BackendRecord[], over: Partial<RoutingConfig> = {}) {
  const registry = createRegistry()
  for (const b of backends) {
    const rec = registry.add(b) as BackendRecord
    registry.setModels(b.id, [...b.models.values()])
    registry.setStatus(b.id, b.status, b.lastError)
    rec.stats = b.stats
  }
  let config = routing(over)
  const breakers = createBreakers(() => config.circuit_breaker)
  const router = createRouter(registry, () => config, breakers)
  return { registry, router, breakers, set: (o: Partial<RoutingConfig>) => (config = routing(o)) }
}

const first = (plan: ReturnType<ReturnType<typeof setup>["router"]["plan"]>) => {
  if (!plan.ok) throw new Error(`expected a route, got ${plan.kind}`)
  return plan.attempts[0]!.backend.name
}

describe("strategies", () => {
  const three = () => [backend("a", ["m"], { priority: 3 }), backend("b", ["m"], { priority: 1 }), backend("c", ["m"], { priority: 2 })]

  test("round robin over 3 backends with 6 requests gives exactly 2 each", () => {
    const { router } = setup(three(), { strategy: "round_robin" })
    const counts: Record<string, number> = {}
    for (let i = 0; i < 6; i++) {
      const name = first(router.plan("m", noRequirements()))
      counts[name] = (counts[name] ?? 0) + 1
    }
    expect(counts).toEqual({ a: 2, b: 2, c: 2 })
  })

  test("priority_only always picks the lowest priority number, then the next", () => {
    const { router } = setup(three(), { strategy: "priority_only" })
    for (let i = 0; i < 5; i++) {
      const plan = router.plan("m", noRequirements())
      expect(plan.ok && plan.attempts.map((a) => a.backend.name)).toEqual(["b", "c", "a"])
    }
  })

  test("random over 300 requests gives each backend a fair share", () => {
    const { router } = setup(three(), { strategy: "random" })
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 }
    for (let i = 0; i < 300; i++) counts[first(router.plan("m", noRequirements()))]!++
    // Binomial(300, 1/3): mean 100, sd ~8.2; 60..140 is ~5 sd either way.
    for (const n of Object.values(counts)) {
      expect(n).toBeGreaterThan(60)
      expect(n).toBeLessThan(140)
    }
  })

  test("least_busy picks the backend with the fewest in flight relative to capacity", () => {
    const bs = three()
    bs[0]!.stats.inFlight = 0
    bs[1]!.stats.inFlight = 5
    bs[2]!.stats.inFlight = 2
    const { router } = setup(bs, { strategy: "least_busy" })
    expect(first(router.plan("m", noRequirements()))).toBe("a")
  })

  test("smart: lower priority number, lower load and lower latency each win", () => {
    const bs = [backend("x", ["m"], { priority: 1 }), backend("y", ["m"], { priority: 2 })]
    const { router, registry } = setup(bs)
    expect(first(router.plan("m", noRequirements()))).toBe("x")
    bs[0]!.stats.inFlight = 20
    expect(first(router.plan("m", noRequirements()))).toBe("y")
    bs[0]!.stats.inFlight = 0
    registry.updateSettings("x", { ...bs[0]!, priority: 2 })
    bs[0]!.stats.ttftEwmaMs = 900
    bs[1]!.stats.ttftEwmaMs = 30
    expect(first(router.plan("m", noRequirements()))).toBe("y")
  })

  test("smart prefers a warm backend and one without recent errors when weighted", () => {
    const cold = backend("cold", [{ id: "m", capabilities: {}, loaded: false }])
    const warm = backend("warm", [{ id: "m", capabilities: {}, loaded: true }])
    const { router, set } = setup([cold, warm], { weights: { priority: 0, load: 0, latency: 0, warm: 100, errors: 0 } })
    expect(first(router.plan("m", noRequirements()))).toBe("warm")
    warm.stats.errorRate = 0.9
    set({ weights: { priority: 0, load: 0, latency: 0, warm: 10, errors: 90 } })
    expect(first(router.plan("m", noRequirements()))).toBe("cold")
  })
})

describe("candidates and exclusions", () => {
  test("unknown capabilities never exclude; known-no does, with a reason", () => {
    const plain = backend("plain", [{ id: "m", capabilities: { vision: false, tools: false } }])
    const unknown = backend("unknown", ["m"])
    const { router } = setup([plain, unknown])
    const body = {
      model: "m",
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:," } }] }],
    }
    const plan = router.plan("m", chatRequirements(body))
    expect(plan.ok && plan.attempts.map((a) => a.backend.name)).toEqual(["unknown"])
    expect(plan.ok && plan.excluded).toEqual([{ backend: "plain", model: "m", kind: "capability", reason: "model lacks vision" }])
  })

  test("context length counts the prompt and max_tokens", () => {
    const small = backend("small", [{ id: "m", capabilities: {}, contextLength: 100 }])
    const { router } = setup([small])
    const body = { model: "m", messages: [{ role: "user", content: "x".repeat(200) }], max_tokens: 60 }
    const plan = router.plan("m", chatRequirements(body))
    expect(plan.ok).toBe(false)
    expect(!plan.ok && plan.kind === "unavailable" && plan.excluded[0]!.reason).toContain("context too small")
  })

  test("json_schema and tools are requirements too", () => {
    const r = chatRequirements({
      model: "m",
      messages: [],
      tools: [{ type: "function", function: { name: "f" } }],
      response_format: { type: "json_schema", json_schema: {} },
    })
    expect(r.tools).toBe(true)
    expect(r.jsonMode).toBe(true)
  })

  test("an unknown model is not_found; a known one with no healthy backend is unavailable, not waitable", () => {
    const down = backend("down", ["m"], { status: "unhealthy", lastError: "connection refused" })
    const { router } = setup([down])
    const missing = router.plan("nope", noRequirements())
    expect(missing.ok === false && missing.kind).toBe("not_found")
    const plan = router.plan("m", noRequirements())
    expect(plan.ok === false && plan.kind === "unavailable" && plan.waitable).toBe(false)
    expect(plan.ok === false && plan.kind === "unavailable" && plan.excluded[0]!.reason).toBe("unhealthy: connection refused")
  })

  test("at capacity is waitable", () => {
    const full = backend("full", ["m"], { maxConcurrent: 1 })
    full.stats.inFlight = 1
    const { router } = setup([full])
    const plan = router.plan("m", noRequirements())
    expect(plan.ok === false && plan.kind === "unavailable" && plan.waitable).toBe(true)
  })

  test("an open circuit excludes the backend with its reason", () => {
    const b = backend("flaky", ["m"])
    const { router, breakers } = setup([b])
    for (let i = 0; i < 3; i++) breakers.failure("flaky", "HTTP 500")
    const plan = router.plan("m", noRequirements())
    expect(plan.ok === false && plan.kind === "unavailable" && plan.excluded[0]!.reason).toContain("circuit open")
  })
})

describe("aliases and fallbacks", () => {
  test("aliases resolve up to three hops, not four", () => {
    const bs = [backend("x", ["real", "d"])]
    const { router } = setup(bs, { aliases: { a: "b", b: "c", c: "real", w: "x1", x1: "x2", x2: "x3", x3: "d" } })
    const plan = router.plan("a", noRequirements())
    expect(plan.ok && plan.resolved).toBe("real")
    const deep = router.plan("w", noRequirements())
    expect(deep.ok === false && deep.kind).toBe("not_found")
  })

  test("fallbacks follow the primary's candidates, alias-resolved, each with its own retry budget", () => {
    const bs = [backend("p1", ["big"]), backend("p2", ["big"]), backend("p3", ["big"]), backend("s", ["small-real"])]
    const { router } = setup(bs, { aliases: { small: "small-real" }, fallbacks: { big: ["small"] }, max_retries: 2 })
    const plan = router.plan("big", noRequirements())
    expect(plan.ok && plan.attempts.map((a) => `${a.backend.name}:${a.model}:${a.fallbackFrom ?? ""}`)).toEqual([
      "p1:big:",
      "p2:big:",
      "p3:big:",
      "s:small-real:big",
    ])
  })

  test("a fallback serves when the primary has no routable backend", () => {
    const bs = [backend("p", ["big"], { status: "unhealthy" }), backend("s", ["small"])]
    const { router } = setup(bs, { fallbacks: { big: ["small"] } })
    const plan = router.plan("big", noRequirements())
    expect(plan.ok && plan.reason).toBe("fallback:small")
    expect(plan.ok && plan.attempts[0]!.fallbackFrom).toBe("big")
  })
})
