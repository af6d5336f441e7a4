/**
 * Client keys hold whatever path a request takes: while some model is cold, streaming
 * dialects go through the cold-start path (their stream may be committed before the
 * backend answers), and a request there is judged exactly as on the warm path. For any
 * dialect, streamed or not, any model (warm or cold) and any key (none, unknown, one whose
 * model list leaves the model out, a good one), the status is the key's verdict, and only
 * the requests a key admits reach the backend.
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import { startOllama } from "../../emulators/index.ts"
import { bearer, createKey } from "../helpers/keys.ts"
import { backend } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"

const scope = testScope()
const GIB = 1024 ** 3

const BODIES: Record<string, (model: string, stream: boolean) => Record<string, unknown>> = {
  "/v1/chat/completions": (model, stream) => ({ model, stream, messages: [{ role: "user", content: "hi" }] }),
  "/v1/messages": (model, stream) => ({ model, stream, max_tokens: 16, messages: [{ role: "user", content: "hi" }] }),
  "/v1/responses": (model, stream) => ({ model, stream, input: "hi" }),
  "/api/chat": (model, stream) => ({ model, stream, messages: [{ role: "user", content: "hi" }] }),
}

test("while a model is cold, every dialect still judges the client's key as on the warm path", async () => {
  // `idle:3b` is never asked for: it keeps the fleet cold, so every request takes the cold-start path.
  const models = [{ id: "warm:1b", sizeBytes: GIB }, { id: "cold:7b", loaded: false, sizeBytes: GIB }, { id: "idle:3b", loaded: false, sizeBytes: GIB }]
  const o = await scope.emulator(startOllama({ models, fleet: {} }))
  const n = await scope.nexus({ auth: { required: true }, health_check: { interval_seconds: 3600 }, backends: [backend("box", o.url, "ollama")] })
  const narrow = await createKey(n, { name: "narrow", models: ["warm:*"] })
  const wide = await createKey(n, { name: "wide" })
  const keys = { none: undefined, unknown: "nx-0000000000000000000000000000000000000000", narrow: narrow.secret, wide: wide.secret } as const
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...Object.keys(BODIES)),
      fc.boolean(),
      fc.constantFrom("warm:1b", "cold:7b"),
      fc.constantFrom(...(Object.keys(keys) as (keyof typeof keys)[])),
      async (path, stream, model, key) => {
        expect(n.deps.fleet.anyCold()).toBe(true)
        const before = o.stats.bodies.length
        const secret = keys[key]
        const res = await n.post(path, BODIES[path]!(model, stream), secret ? bearer(secret) : {})
        await res.text()
        const want = key === "none" || key === "unknown" ? 401 : key === "narrow" && model === "cold:7b" ? 403 : 200
        expect({ path, stream, model, key, status: res.status }).toEqual({ path, stream, model, key, status: want })
        expect(o.stats.bodies.length - before).toBe(want === 200 ? 1 : 0)
      }
    ),
    { numRuns: 80 }
  )
}, 60_000)
