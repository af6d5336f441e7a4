/**
 * Model names are case-blind, as Ollama's are: a client asking for `LLAMA3` or
 * `Qwen3-Coder:30B` reaches the server listing `llama3:latest` or `qwen3-coder:30b`, and the
 * server receives the name it lists. Exact spellings go first: a server listing a name in
 * another case keeps its own requests.
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import { startOllama } from "../../emulators/index.ts"
import { backend, chat } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"

const scope = testScope()

/** `name` with each letter's case flipped where `flips` says so. */
const flipped = (name: string) =>
  fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((flips) =>
    [...name].map((ch, i) => (flips[i] ? ch.toUpperCase() : ch)).join("")
  )

test("any case of a listed name reaches the server that lists it, under the name it lists", async () => {
  const box = await scope.emulator(startOllama({ models: ["llama3:latest", "qwen3-coder:30b"] }))
  const n = await scope.nexus({ health_check: { interval_seconds: 3600 }, backends: [backend("box", box.url, "ollama")] })
  const asks = fc.oneof(
    fc.tuple(flipped("llama3"), fc.constantFrom("", ":latest", ":LATEST")).map(([m, tag]) => ({ ask: m + tag, listed: "llama3:latest" })),
    flipped("qwen3-coder:30b").map((m) => ({ ask: m, listed: "qwen3-coder:30b" }))
  )
  await fc.assert(
    fc.asyncProperty(asks, async ({ ask, listed }) => {
      const before = box.stats.bodies.length
      const res = await n.post("/v1/chat/completions", chat(ask))
      expect({ ask, status: res.status }).toEqual({ ask, status: 200 })
      await res.text()
      expect(box.stats.bodies.slice(before).map((b) => JSON.parse(b).model)).toEqual([listed])
    }),
    { numRuns: 100 }
  )
})

test("an exact spelling wins over one in another case", async () => {
  const lower = await scope.emulator(startOllama({ models: ["mixtral:latest"] }))
  const upper = await scope.emulator(startOllama({ models: ["Mixtral:latest"] }))
  const n = await scope.nexus({
    health_check: { interval_seconds: 3600 },
    backends: [backend("lower", lower.url, "ollama"), backend("upper", upper.url, "ollama")],
  })
  await (await n.post("/v1/chat/completions", chat("Mixtral"))).text()
  await (await n.post("/v1/chat/completions", chat("mixtral"))).text()
  expect(upper.stats.bodies.map((b) => JSON.parse(b).model)).toEqual(["Mixtral:latest"])
  expect(lower.stats.bodies.map((b) => JSON.parse(b).model)).toEqual(["mixtral:latest"])
  // A name nobody lists in any case is still a 404 naming what is available.
  const res = await n.post("/v1/chat/completions", chat("MIXTRAL:8x7b"))
  expect(res.status).toBe(404)
})

test("an alias answers to any case of its name, an exact key first, before any glob", async () => {
  const box = await scope.emulator(startOllama({ models: ["small:1b", "big:14b", "llama3:latest"] }))
  const n = await scope.nexus({
    health_check: { interval_seconds: 3600 },
    routing: { aliases: { fast: "small:1b", "Fast-Big": "big:14b", "f*": "llama3" } },
    backends: [backend("box", box.url, "ollama")],
  })
  const served = async (ask: string) => {
    const res = await n.post("/v1/chat/completions", chat(ask))
    expect({ ask, status: res.status }).toEqual({ ask, status: 200 })
    await res.text()
    return JSON.parse(box.stats.bodies.at(-1)!).model as string
  }
  await fc.assert(
    fc.asyncProperty(flipped("fast"), fc.constantFrom("", ":latest"), async (name, tag) => expect(await served(name + tag)).toBe("small:1b")),
    { numRuns: 40 }
  )
  expect(await served("fast-big")).toBe("big:14b")
  expect(await served("fog")).toBe("llama3:latest")
})
