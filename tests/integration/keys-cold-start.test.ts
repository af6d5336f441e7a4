/**
 * Client keys hold whatever path a request takes: while some model is cold, streaming
 * dialects go through the cold-start path (their stream may be committed before the
 * backend answers), and a request there is checked exactly as on the warm path: no key is
 * a 401, a key's model list holds, a good key is served.
 */
import { expect, test } from "bun:test"
import { startOllama } from "../../emulators/index.ts"
import { bearer, createKey } from "../helpers/keys.ts"
import { backend, chat } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"

const scope = testScope()
const GIB = 1024 ** 3

test("while a model is cold, every streaming dialect still checks the client's key", async () => {
  const o = await scope.emulator(startOllama({ models: [{ id: "warm:1b", sizeBytes: GIB }, { id: "cold:7b", loaded: false, sizeBytes: GIB }], fleet: {} }))
  const n = await scope.nexus({ auth: { required: true }, backends: [backend("box", o.url, "ollama")] })
  const key = await createKey(n, { name: "ci", models: ["warm:*"] })
  const asks: [string, Record<string, unknown>][] = [
    ["/v1/chat/completions", chat("warm:1b", { stream: true })],
    ["/v1/messages", { model: "warm:1b", max_tokens: 16, stream: true, messages: [{ role: "user", content: "hi" }] }],
    ["/v1/responses", { model: "warm:1b", stream: true, input: "hi" }],
  ]
  for (const [path, body] of asks) {
    const none = await n.post(path, body)
    await none.text()
    expect({ path, status: none.status }).toEqual({ path, status: 401 })
    const other = await n.post(path, { ...body, model: "cold:7b" }, bearer(key.secret))
    await other.text()
    expect({ path, status: other.status }).toEqual({ path, status: 403 })
    const ok = await n.post(path, body, bearer(key.secret))
    await ok.text()
    expect({ path, status: ok.status }).toEqual({ path, status: 200 })
  }
  // Nothing but the served requests reached the backend.
  expect(o.stats.bodies.length).toBe(3)
}, 30_000)
