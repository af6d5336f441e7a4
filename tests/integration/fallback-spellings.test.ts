/**
 * `[routing.fallbacks]` is looked up the way requests are resolved: a fallback set for a
 * model serves a client asking for any spelling of it (case, `:latest`) or an alias of
 * it, whichever spelling the table's key uses, an alias included. The backends' own
 * request logs decide.
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import { startOllama } from "../../emulators/index.ts"
import { backend, chat } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"

const scope = testScope()

/** How the table names `llama3`: any case, with or without `:latest`, or through an alias. */
const keySpelling = fc.constantFrom("llama3", "llama3:latest", "LLAMA3", "Llama3:Latest", "llama3:LATEST", "fast", "team")
/** How the client names it: the same, plus an exact or glob alias and a chain of aliases. */
const askSpelling = fc.constantFrom("llama3", "llama3:latest", "LLAMA3", "Llama3:LATEST", "fast", "fast:latest", "team", "agent-7")
const ALIASES = { fast: "llama3", team: "fast", "agent-*": "llama3:latest" }

test("a fallback applies for every spelling of its model and every alias of it, whichever spelling the table uses", async () => {
  const home = await scope.emulator(startOllama({ models: ["llama3:latest"] }))
  const spare = await scope.emulator(startOllama({ models: ["small:latest"] }))
  const n = await scope.nexus({
    routing: { circuit_breaker: { failure_threshold: 1_000_000, cooldown_seconds: 1 } },
    health_check: { interval_seconds: 3600 },
    backends: [backend("home", home.url, "ollama"), backend("spare", spare.url, "ollama")],
  })
  // The model asked for always fails where it is served: only its fallback can answer.
  home.faults.status = 500
  await fc.assert(
    fc.asyncProperty(keySpelling, askSpelling, fc.constantFrom("small", "small:latest"), async (key, ask, target) => {
      Object.assign(n.deps.config().routing, { aliases: ALIASES, fallbacks: { [key]: [target] } })
      const before = spare.stats.bodies.length
      const res = await n.post("/v1/chat/completions", chat(ask))
      const body = await res.text()
      expect({ key, ask, status: res.status, body: body.slice(0, 200) }).toMatchObject({ status: 200 })
      expect(spare.stats.bodies.slice(before).map((b) => JSON.parse(b).model)).toEqual(["small:latest"])
    }),
    { numRuns: 200 }
  )
}, 60_000)

test("a fallback set for another model, or for a name no table key spells, does not apply", async () => {
  const home = await scope.emulator(startOllama({ models: ["llama3:latest", "llama3:70b"] }))
  const spare = await scope.emulator(startOllama({ models: ["small:latest"] }))
  const n = await scope.nexus({
    routing: { fallbacks: { "llama3:70b": ["small"] } },
    health_check: { interval_seconds: 3600 },
    backends: [backend("home", home.url, "ollama"), backend("spare", spare.url, "ollama")],
  })
  home.faults.status = 500
  // The served model fails as itself, in any case; a name nobody serves is a 404, never an Object key.
  const expected: [string, number][] = [["llama3", 502], ["LLAMA3:LATEST", 502], ["constructor", 404], ["toString", 404], ["__proto__", 404]]
  for (const [ask, status] of expected) {
    const res = await n.post("/v1/chat/completions", chat(ask))
    expect({ ask, status: res.status }).toEqual({ ask, status })
  }
  expect(spare.stats.bodies).toEqual([])
  expect((await n.post("/v1/chat/completions", chat("LLAMA3:70B"))).status).toBe(200)
})
