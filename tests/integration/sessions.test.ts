/**
 * Sticky sessions over real HTTP: a conversation returns to the backend that served it
 * while that backend can take it, and moves (and is remembered there) when it cannot.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"

let nexus: TestNexus
let a: Emulator
let b: Emulator

beforeAll(async () => {
  a = await startVllm({ models: ["m"] })
  b = await startVllm({ models: ["m"] })
  nexus = await startNexus({
    routing: { strategy: "round_robin" },
    backends: [backend("a", a.url, "vllm"), backend("b", b.url, "vllm")],
  })
})

afterAll(async () => {
  await nexus.stop(0)
  await Promise.all([a.stop(), b.stop()])
})

const turn = (headers: Record<string, string>, user = "task", extra: object = {}) =>
  nexus.post("/v1/chat/completions", { model: "m", messages: [{ role: "system", content: "sys" }, { role: "user", content: user }], ...extra }, headers)

describe("sticky sessions", () => {
  test("each session keeps its backend turn after turn, while new sessions still spread", async () => {
    const homes = new Map<string, string>()
    for (const s of ["s1", "s2", "s3", "s4"]) {
      const res = await turn({ "x-nexus-session": s })
      homes.set(s, res.headers.get("x-nexus-backend")!)
    }
    expect(new Set(homes.values()).size).toBe(2)
    for (let round = 0; round < 3; round++) {
      for (const [s, home] of homes) {
        const res = await turn({ "x-nexus-session": s })
        expect(res.headers.get("x-nexus-backend")).toBe(home)
        expect(res.headers.get("x-nexus-route-reason")).toBe("session_affinity")
      }
    }
  })

  test("Claude Code's session header, OpenAI's prompt_cache_key and the prompt hash all stick", async () => {
    const cases: [Record<string, string>, string, object][] = [
      [{ "x-claude-code-session-id": "cc-1" }, "one", {}],
      [{}, "two", { prompt_cache_key: "codex-1" }],
      [{}, `a prompt nobody else sends ${"with a long shared context ".repeat(50)}`, {}],
    ]
    for (const [headers, user, extra] of cases) {
      const first = (await turn(headers, user, extra)).headers.get("x-nexus-backend")
      for (let i = 0; i < 3; i++) expect((await turn(headers, user, extra)).headers.get("x-nexus-backend")).toBe(first)
    }
  })

  test("a session whose backend is down moves, and stays where it moved", async () => {
    const home = (await turn({ "x-nexus-session": "mover" })).headers.get("x-nexus-backend")!
    const other = home === "a" ? "b" : "a"
    nexus.deps.registry.setStatus(home, "unhealthy", "test")
    try {
      expect((await turn({ "x-nexus-session": "mover" })).headers.get("x-nexus-backend")).toBe(other)
    } finally {
      nexus.deps.registry.setStatus(home, "healthy")
    }
    for (let i = 0; i < 3; i++) {
      const res = await turn({ "x-nexus-session": "mover" })
      expect(res.headers.get("x-nexus-backend")).toBe(other)
      expect(res.headers.get("x-nexus-route-reason")).toBe("session_affinity")
    }
  })
})
