/**
 * For every spelling a client may send (case, `:latest`, aliases exact and glob, names
 * that chain through aliases) and every key's model globs, the model that reaches a
 * backend is one the key's globs allow; everything else is refused with a 403 or a 404,
 * never served and never a 500. Fallbacks to a model outside the globs are skipped.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { startOllama } from "../../emulators/index.ts"
import { bearer, createKey } from "../helpers/keys.ts"
import { backend, chat, ENDPOINT_BODIES } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"

const scope = testScope()

const MODELS = ["llama3.2:latest", "qwen2.5:7b", "secret-model:latest", "secret-small:7b"]
const ALIASES = { chat: "secret-model", fast: "llama3.2", "sneaky:latest": "secret-model", "llama-*": "secret-small:7b", hop: "chat", Qwen: "qwen2.5:7b" }
const GLOB_SETS = [["llama*"], ["qwen*"], ["LLAMA3.2"], ["*:7b"], ["llama3.2:latest", "qwen?.?:7b"], ["fast", "chat", "sneaky*"], ["secret-small*"], ["*"]]
const SPELLINGS = ["llama3.2", "qwen2.5:7b", "secret-model", "secret-small:7b", "chat", "fast", "sneaky", "hop", "Qwen", "llama-x", "llama-3.2", "nope"]

/** An independent reading of the promise: a glob (any case) matches the served name, with or without `:latest`. */
function allowed(globs: string[], served: string): boolean {
  const names = served.endsWith(":latest") ? [served, served.slice(0, -7)] : [served, `${served}:latest`]
  return globs.some((g) => {
    const re = new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i")
    return names.some((n) => re.test(n))
  })
}

/** Mostly names as written (so many are served), some in another case or with another tag. */
const spelling = fc
  .tuple(
    fc.constantFrom(...SPELLINGS),
    fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }) }),
    fc.constantFrom("", "", ":latest", ":LATEST")
  )
  .map(([name, upper, tag]) => [...name].map((c, i) => (upper?.[i] ? c.toUpperCase() : c)).join("") + (name.includes(":") ? "" : tag))

describe("a key's model globs hold for every spelling", () => {
  test("what reaches a backend is always inside the key's globs", async () => {
    const home = await scope.emulator(startOllama({ models: MODELS }))
    const n = await scope.nexus({ auth: { required: true }, routing: { aliases: ALIASES } as never, backends: [backend("home", home.url, "ollama")] })
    const keys = await Promise.all(GLOB_SETS.map((models, i) => createKey(n, { name: `k${i}`, models })))
    let served = 0
    let refused = 0
    const endpoints = ["/v1/chat/completions", "/v1/messages", "/v1/responses", "/api/chat", "/api/generate"]
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: GLOB_SETS.length - 1 }), spelling, fc.constantFrom(...endpoints), async (i, model, path) => {
        const before = home.stats.bodies.length
        const res = await n.post(path, ENDPOINT_BODIES[path]!(model, false), bearer(keys[i]!.secret))
        await res.arrayBuffer()
        expect([200, 403, 404]).toContain(res.status)
        if (res.status === 403) refused++
        if (res.status !== 200) {
          expect(home.stats.bodies.length).toBe(before)
          return
        }
        served++
        const sent = JSON.parse(home.stats.bodies.at(-1)!).model as string
        expect({ globs: GLOB_SETS[i], model, sent, allowed: allowed(GLOB_SETS[i]!, sent) }).toMatchObject({ allowed: true })
      }),
      { numRuns: 300 }
    )
    // Not vacuous: plenty were served, and plenty refused.
    expect(served).toBeGreaterThan(30)
    expect(refused).toBeGreaterThan(30)
  })

  test("a fallback to a model outside the globs is skipped, not served", async () => {
    const home = await scope.emulator(startOllama({ models: ["llama3.2:latest", "secret-model:latest"] }))
    const n = await scope.nexus({ auth: { required: true }, routing: { fallbacks: { "llama3.2": ["secret-model"] } } as never, backends: [backend("home", home.url, "ollama")] })
    const k = await createKey(n, { name: "alice", models: ["llama*"] })
    home.faults.status = 500
    const res = await n.post("/v1/chat/completions", chat("llama3.2"), bearer(k.secret))
    expect(res.status).toBeGreaterThanOrEqual(500)
    expect(home.stats.bodies.some((b) => b.includes("secret-model"))).toBe(false)
  })
})
