/**
 * Policy is decided on the model the router resolves, and client headers only tighten it:
 * the spellings, aliases and fallbacks that used to reach the cloud no longer do, on every
 * endpoint; the cloud's own request log says so.
 */
import { describe, expect, test } from "bun:test"
import { startOllama, startOpenai, startVllm } from "../../emulators/index.ts"
import type { NexusConfig } from "../../src/config/types.ts"
import { backend, chat, ENDPOINT_BODIES } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"

const scope = testScope()
const env = { OPENAI_TEST_KEY: "sk-privacy-key-0002" }


/** A local Ollama that fails every generation, and a cloud that lists the same models. */
async function failingHome(localModels: string[], cloudModels: string[], routing: Partial<NexusConfig["routing"]>, tiers = { home: 1, cloud: 1 }) {
  const home = await scope.emulator(startOllama({ models: localModels }))
  const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: cloudModels }))
  const n = await scope.nexus(
    {
      routing,
      backends: [
        backend("home", home.url, "ollama", { tier: tiers.home }),
        backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY", tier: tiers.cloud }),
      ],
    },
    { env }
  )
  home.faults.status = 500
  return { home, cloud, n }
}

describe("policy on the resolved model", () => {
  test("a policy naming x:latest holds for a client asking for x, on every endpoint", async () => {
    const policies = [{ model_pattern: "llama3.2:latest", privacy: "restricted" as const }]
    const { cloud, n } = await failingHome(["llama3.2:latest"], ["llama3.2:latest"], { policies })
    for (const [path, body] of Object.entries(ENDPOINT_BODIES)) {
      const res = await n.post(path, body("llama3.2", false))
      // The emulated Ollama fails its OpenAI endpoints; its native ones may still answer.
      expect({ path, status: res.status, backend: res.headers.get("x-nexus-backend") }).not.toMatchObject({ status: 500 })
      if (res.status === 200) expect(res.headers.get("x-nexus-backend")).toBe("home")
    }
    expect(cloud.stats.bodies).toEqual([])
  })

  test("a policy naming x holds for a client asking for x:latest in any case", async () => {
    const policies = [{ model_pattern: "SECRET", privacy: "restricted" as const }]
    const { cloud, n } = await failingHome(["secret:latest"], ["secret:latest"], { policies })
    const res = await n.post("/v1/chat/completions", chat("secret:latest"))
    expect(res.status).toBe(502)
    expect(cloud.stats.bodies).toEqual([])
  })

  test("an alias keyed on mymodel:latest: a client asking for mymodel never fails over to the cloud", async () => {
    const routing = { aliases: { "mymodel:latest": "private-x" }, policies: [{ model_pattern: "private-*", privacy: "restricted" as const }] }
    const { home, cloud, n } = await failingHome(["private-x:latest"], ["private-x:latest"], routing)
    for (const [path, body] of Object.entries(ENDPOINT_BODIES)) {
      const res = await n.post(path, body("mymodel", false))
      expect(res.status).not.toBe(500)
      if (res.status === 200) expect(res.headers.get("x-nexus-backend")).toBe("home")
    }
    expect(home.stats.bodies.length).toBeGreaterThan(0)
    expect(cloud.stats.bodies).toEqual([])
  })

  test("a fallback to a restricted model carries its restriction, and the refusal says the fallback was skipped", async () => {
    const routing = { fallbacks: { "plain-local": ["private-x"] }, policies: [{ model_pattern: "private-*", privacy: "restricted" as const }] }
    const { cloud, n } = await failingHome(["plain-local:latest"], ["private-x"], routing)
    const res = await n.post("/v1/chat/completions", chat("plain-local"))
    expect(res.status).toBe(502)
    const body = (await res.json()) as { error: { message: string }; context: { skipped_by_policy: { backend: string; model: string; reason: string }[] } }
    expect(body.error.message).toContain("cloud (private-x): privacy")
    expect(body.context.skipped_by_policy).toEqual([{ backend: "cloud", model: "private-x", reason: expect.stringContaining("privacy:") }])
    expect(cloud.stats.bodies).toEqual([])
  })

  test("a restricted request's fallbacks stay restricted", async () => {
    const routing = { fallbacks: { "private-x:latest": ["gpt-4o-mini"] }, policies: [{ model_pattern: "private-x:latest", privacy: "restricted" as const }] }
    const { cloud, n } = await failingHome(["private-x:latest"], ["gpt-4o-mini"], routing)
    expect((await n.post("/v1/messages", ENDPOINT_BODIES["/v1/messages"]!("private-x", false))).status).toBe(502)
    expect(cloud.stats.bodies).toEqual([])
    // The same fallback serves a request that is not restricted.
    n.deps.config().routing.policies = []
    expect((await n.post("/v1/messages", ENDPOINT_BODIES["/v1/messages"]!("private-x", false))).status).toBe(200)
    expect(cloud.stats.bodies.map((b) => JSON.parse(b).model)).toEqual(["gpt-4o-mini"])
  })
})

describe("client headers only tighten", () => {
  test("X-Nexus-Privacy: anything but a clean `open` restricts the request", async () => {
    const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: ["gpt-4o-mini"] }))
    const n = await scope.nexus({ backends: [backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY" })] }, { env })
    for (const value of ["restricted;", '"restricted"', "Restricted ", "unrestricted", "", '"open"', "open;"]) {
      const res = await n.post("/v1/chat/completions", chat("gpt-4o-mini"), { "x-nexus-privacy": value })
      expect({ value, status: res.status }).toEqual({ value, status: 503 })
    }
    const twice = new Headers({ "content-type": "application/json" })
    twice.append("x-nexus-privacy", "open")
    twice.append("x-nexus-privacy", "restricted")
    const repeated = await fetch(`${n.url}/v1/chat/completions`, { method: "POST", headers: twice, body: JSON.stringify(chat("gpt-4o-mini")) })
    expect(repeated.status).toBe(503)
    expect(cloud.stats.bodies).toEqual([])
    expect((await n.post("/v1/chat/completions", chat("gpt-4o-mini"), { "x-nexus-privacy": " Open " })).status).toBe(200)
  })

  test("X-Nexus-Min-Tier and X-Nexus-Flexible never go below a policy's min_tier", async () => {
    const small = await scope.emulator(startOllama({ models: ["llama3:70b"] }))
    const n = await scope.nexus({
      routing: { policies: [{ model_pattern: "llama3:*", privacy: "unrestricted", min_tier: 4 }] },
      backends: [backend("small", small.url, "ollama", { tier: 2 })],
    })
    const tries: Record<string, string>[] = [{ "x-nexus-min-tier": "1" }, { "x-nexus-flexible": "true" }, { "x-nexus-min-tier": "2", "x-nexus-flexible": "true" }]
    for (const headers of tries) {
      const res = await n.post("/v1/chat/completions", chat("llama3:70b"), headers)
      expect(res.status).toBe(503)
      const body = (await res.json()) as { error: { code: string } }
      expect(body.error.code).toBe("tier_unavailable")
    }
    // A header stricter than the policy wins.
    n.deps.config().routing.policies = [{ model_pattern: "llama3:*", privacy: "unrestricted", min_tier: 1 }]
    expect((await n.post("/v1/chat/completions", chat("llama3:70b"), { "x-nexus-min-tier": "3" })).status).toBe(503)
    expect((await n.post("/v1/chat/completions", chat("llama3:70b"))).status).toBe(200)
    expect(small.stats.completed).toBe(1)
  })
})

describe("implicit tier", () => {
  test("a restricted model that a higher-tier cloud also lists is served locally", async () => {
    const home = await scope.emulator(startVllm({ models: ["private-llm"] }))
    const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: ["private-llm"] }))
    const n = await scope.nexus(
      {
        routing: { policies: [{ model_pattern: "private-*", privacy: "restricted" }] },
        backends: [
          backend("home", home.url, "vllm", { tier: 2 }),
          backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY", tier: 5 }),
        ],
      },
      { env }
    )
    const res = await n.post("/v1/chat/completions", chat("private-llm"))
    expect(res.status).toBe(200)
    expect(res.headers.get("x-nexus-backend")).toBe("home")
    // The same holds for a request restricted by its header.
    n.deps.config().routing.policies = []
    const byHeader = await n.post("/v1/chat/completions", chat("private-llm"), { "x-nexus-privacy": "restricted" })
    expect(byHeader.status).toBe(200)
    expect(byHeader.headers.get("x-nexus-backend")).toBe("home")
    expect(cloud.stats.bodies).toEqual([])
  })
})

describe("refusals say why and what would allow the request", () => {
  test("each rule's excluded backends and the remedies, in the client's dialect", async () => {
    const home = await scope.emulator(startVllm({ models: ["m"] }))
    const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: ["m"] }))
    const n = await scope.nexus(
      {
        backends: [
          backend("home", home.url, "vllm", { tier: 2 }),
          backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY", tier: 5 }),
        ],
      },
      { env }
    )
    const headers = { "x-nexus-privacy": "restricted", "x-nexus-min-tier": "4" }
    const res = await n.post("/v1/chat/completions", chat("m"), headers)
    expect(res.status).toBe(503)
    const body = (await res.json()) as { error: { code: string; message: string }; context: { excluded_by: Record<string, string[]>; remedies: string[] } }
    expect(body.error.code).toBe("tier_unavailable")
    expect(body.context.excluded_by).toEqual({ privacy_zone: ["cloud"], tier: ["home"] })
    expect(body.error.message).toContain("a lower X-Nexus-Min-Tier")
    expect(body.error.message).toContain("excluded for their open zone: cloud")

    n.deps.config().routing.policies = [{ model_pattern: "M:LATEST", privacy: "restricted", min_tier: 4 }]
    const anthropic = await n.post("/v1/messages", { model: "m", max_tokens: 16, messages: [{ role: "user", content: "hi" }] })
    expect(anthropic.status).toBe(503)
    const err = (await anthropic.json()) as { type: string; error: { type: string; message: string } }
    expect(err.type).toBe("error")
    expect(err.error.message).toContain("a lower min_tier in the model's [[routing.policies]] entry")
    expect(err.error.message).not.toContain("X-Nexus-Flexible")
    expect(cloud.stats.bodies).toEqual([])
    expect(home.stats.bodies).toEqual([])
  })
})
