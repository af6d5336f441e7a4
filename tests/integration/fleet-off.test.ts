/**
 * `[fleet] enabled = false` turns fleet management off, not the safety of an unload on
 * command: a model with a request in flight is still never unloaded (409).
 */
import { expect, test } from "bun:test"
import { startOllama } from "../../emulators/index.ts"
import { backend, chat } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually } from "../helpers/wait.ts"

const scope = testScope()
const GIB = 1024 ** 3

test("fleet off: a model with a request in flight is not unloaded, and is once it is done", async () => {
  const a = await scope.emulator(startOllama({ models: [{ id: "m:1b", sizeBytes: GIB }], chunks: 40, chunkDelayMs: 100, fleet: {} }))
  const n = await scope.nexus({ backends: [backend("a", a.url, "ollama")], fleet: { enabled: false } })
  const stream = await n.post("/v1/chat/completions", chat("m:1b", { stream: true }))
  await eventually(() => a.stats.inFlight === 1, 5000, "the stream under way")
  const busy = await n.post("/v1/models/m:1b/unload", {})
  const body = (await busy.json()) as { error: { code: string } }
  expect({ status: busy.status, code: body.error.code }).toEqual({ status: 409, code: "model_in_use" })
  expect(a.fleet!.resident().map((r) => r.model.id)).toEqual(["m:1b"])
  await stream.text()
  const idle = await n.post("/v1/models/m:1b/unload", {})
  await idle.text()
  expect(idle.status).toBe(200)
}, 20_000)
