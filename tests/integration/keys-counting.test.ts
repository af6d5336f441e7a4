/**
 * Counting a prompt sends it to a backend (vLLM's /tokenize), so the client's key is held
 * to what it is held to for generation: a `restricted` key's prompt never reaches an
 * open-zone server, and a key's model list holds. For any counting route, key and model,
 * the open-zone server's own request log decides.
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import { startVllm } from "../../emulators/index.ts"
import { bearer, createKey } from "../helpers/keys.ts"
import { backend } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"

const scope = testScope()

const ROUTES: Record<string, (model: string) => Record<string, unknown>> = {
  "/v1/messages/count_tokens": (model) => ({ model, messages: [{ role: "user", content: "SECRET-COUNT" }] }),
  "/v1/responses/input_tokens": (model) => ({ model, input: "SECRET-COUNT" }),
}

test("a key is held to its privacy and its models when a prompt is counted", async () => {
  const rented = await scope.emulator(startVllm({ models: ["counted:7b", "other:7b"] }))
  const n = await scope.nexus({
    auth: { required: true },
    health_check: { interval_seconds: 3600 },
    backends: [backend("rented", rented.url, "vllm", { zone: "open" })],
  })
  const keys = {
    open: (await createKey(n, { name: "open" })).secret,
    restricted: (await createKey(n, { name: "restricted", privacy: "restricted" })).secret,
    narrow: (await createKey(n, { name: "narrow", models: ["counted:*"] })).secret,
  }
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...Object.keys(ROUTES)), fc.constantFrom("open", "restricted", "narrow"), fc.constantFrom("counted:7b", "other:7b"), async (path, key, model) => {
      const before = rented.stats.byPath["/tokenize"] ?? 0
      const res = await n.post(path, ROUTES[path]!(model), bearer(keys[key as keyof typeof keys]))
      await res.text()
      const refused = key === "narrow" && model === "other:7b"
      expect({ path, key, model, status: res.status }).toEqual({ path, key, model, status: refused ? 403 : 200 })
      const sent = (rented.stats.byPath["/tokenize"] ?? 0) - before
      // Only a key allowed the open zone and the model has its prompt counted there.
      expect({ path, key, model, sent: sent > 0 }).toEqual({ path, key, model, sent: key !== "restricted" && !refused })
    }),
    { numRuns: 60 }
  )
}, 60_000)
