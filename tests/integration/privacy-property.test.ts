/**
 * Privacy and tiers hold for every spelling of a model: whatever name a client sends (any
 * case, with or without `:latest`, through exact or glob aliases and alias chains), on
 * whatever endpoint, with whatever fallbacks and `X-Nexus-*` headers, no request whose
 * model is restricted reaches the open-zone backend, and no model reaches a backend below
 * its policy's tier. The backends' own request logs decide.
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import { startOllama, startOpenai, type Emulator } from "../../emulators/index.ts"
import type { RoutingPolicy } from "../../src/config/types.ts"
import { backend, ENDPOINT_BODIES, type TestNexus } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"

const RUNS = { numRuns: 300 }
const env = { OPENAI_TEST_KEY: "sk-privacy-prop-0001" }
const scope = testScope()

const EMBEDDING = new Set(["/v1/embeddings", "/api/embed"])

/** `secret` is restricted, `big` needs tier 3; `open-m` has no policy. */
const BASES = ["secret", "open-m", "big"] as const
type Base = (typeof BASES)[number]
const HOME_TIER = 2
const CLOUD_TIER = 3

/** Which base a name the backends received stands for. */
const baseOf = (model: string) => model.toLowerCase().replace(/:latest$/, "")

const spelling = (base: Base) =>
  fc.tuple(fc.constantFrom("lower", "upper", "title"), fc.constantFrom("", ":latest")).map(([c, tag]) => {
    const name = c === "upper" ? base.toUpperCase() : c === "title" ? base[0]!.toUpperCase() + base.slice(1) : base
    return name + tag
  })
const lowerSpelling = (base: Base) => fc.constantFrom(base, `${base}:latest`)

const secretPattern = fc.constantFrom("secret", "secret:latest", "SECRET", "secret*", "Secret:*", "s?cret")
const bigPattern = fc.constantFrom("big", "big:latest", "BIG*", "bi?")

/** How the client reaches the model: by its own name, an exact alias, a glob alias, or a chain. */
const route = fc.constantFrom("direct", "exact", "exact-latest", "glob", "chain")

const header = <T extends string>(...values: T[]) => fc.option(fc.constantFrom(...values), { nil: undefined })

const scenario = fc.record({
  base: fc.constantFrom(...BASES),
  target: fc.constantFrom(...BASES).chain((b) => lowerSpelling(b)),
  direct: fc.constantFrom(...BASES).chain((b) => spelling(b).map((s) => ({ base: b, name: s }))),
  route,
  endpoint: fc.constantFrom(...Object.keys(ENDPOINT_BODIES)),
  fallbacks: fc.dictionary(
    fc.constantFrom(...BASES).chain((b) => lowerSpelling(b)),
    fc.array(fc.constantFrom(...BASES).chain((b) => spelling(b)), { maxLength: 2 }),
    { maxKeys: 3 }
  ),
  secretPattern,
  bigPattern,
  homeFails: fc.boolean(),
  privacy: header("restricted", "open", "Open ", "restricted;", '"open"', "open, restricted", "unrestricted", ""),
  minTier: header("1", "2", "3", "4"),
  flexible: header("true"),
})
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never

async function gateway(): Promise<{ n: TestNexus; home: Emulator; cloud: Emulator }> {
  const models = BASES.map((b) => `${b}:latest`)
  const home = await scope.emulator(startOllama({ models }))
  // The cloud lists every spelling an account might: the bare name and the tagged one.
  const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: [...BASES, ...models] }))
  const n = await scope.nexus(
    {
      routing: { max_retries: 3, circuit_breaker: { failure_threshold: 1000, cooldown_seconds: 1 } },
      health_check: { interval_seconds: 3600 },
      backends: [
        backend("home", home.url, "ollama", { tier: HOME_TIER }),
        backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY", tier: CLOUD_TIER, priority: 1 }),
      ],
    },
    { env }
  )
  return { n, home, cloud }
}

/** The name the client sends and the aliases that lead it to `s.target` (or `s.direct`). */
function request(s: Scenario): { name: string; base: Base; aliases: Record<string, string> } {
  const target = s.target
  const base = baseOf(target) as Base
  switch (s.route) {
    case "exact":
      return { name: "mymodel", base, aliases: { mymodel: target } }
    case "exact-latest":
      return { name: "mymodel", base, aliases: { "mymodel:latest": target } }
    case "glob":
      return { name: "agent-model-7", base, aliases: { "agent-*": target } }
    case "chain":
      return { name: "team", base, aliases: { team: "mymodel", mymodel: target } }
    default:
      return { name: s.direct.name, base: s.direct.base, aliases: {} }
  }
}

/** What a header value means: only a clean `open` leaves a request unrestricted. */
const restrictsByHeader = (v: string | undefined) => v !== undefined && v.trim().toLowerCase() !== "open"

test("no restricted model reaches the open zone, and no model goes below its tier, for any spelling", async () => {
  const { n, home, cloud } = await gateway()
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const { name, base, aliases } = request(s)
      const policies: RoutingPolicy[] = [
        { model_pattern: s.secretPattern, privacy: "restricted" },
        { model_pattern: s.bigPattern, privacy: "unrestricted", min_tier: CLOUD_TIER },
      ]
      Object.assign(n.deps.config().routing, { aliases, fallbacks: s.fallbacks, policies })
      home.faults.status = s.homeFails ? 500 : undefined
      const headers: Record<string, string> = {}
      if (s.privacy !== undefined) headers["x-nexus-privacy"] = s.privacy
      if (s.minTier !== undefined) headers["x-nexus-min-tier"] = s.minTier
      if (s.flexible !== undefined) headers["x-nexus-flexible"] = s.flexible
      const cloudBefore = cloud.stats.bodies.length
      const homeBefore = home.stats.bodies.length

      const res = await n.post(s.endpoint, ENDPOINT_BODIES[s.endpoint]!(name, false), headers)
      const text = await res.text()
      expect(res.status).not.toBe(500)

      const toCloud = cloud.stats.bodies.slice(cloudBefore).map((b) => baseOf(String(JSON.parse(b).model)))
      const toHome = home.stats.bodies.slice(homeBefore).map((b) => baseOf(String(JSON.parse(b).model)))
      const ownRestricted = base === "secret" || restrictsByHeader(s.privacy)
      // A restricted model never reaches the open zone, as the request's own or as a fallback.
      expect(toCloud).not.toContain("secret")
      if (ownRestricted) expect(toCloud).toEqual([])
      // The operator's tier holds whatever the client sends.
      expect(toHome).not.toContain("big")
      const tier = Number(s.minTier ?? 0)
      if (tier > HOME_TIER && s.flexible === undefined) expect(toHome).toEqual([])
      if (tier > CLOUD_TIER && s.flexible === undefined) expect(toCloud).toEqual([])
      // A restricted model the higher-tier cloud also lists stays servable locally.
      const servable = ownRestricted && !s.homeFails && !EMBEDDING.has(s.endpoint) && base !== "big" && (tier <= HOME_TIER || s.flexible !== undefined)
      if (servable && /^[a-z-]+:latest$/.test(s.route === "direct" ? name : s.target)) {
        expect({ status: res.status, body: text.slice(0, 300) }).toEqual({ status: 200, body: expect.any(String) })
        expect(res.headers.get("x-nexus-backend")).toBe("home")
      }
    }),
    RUNS
  )
}, 120_000)
