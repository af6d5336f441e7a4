/**
 * Generated bad input on top of the hand-written cases: arbitrary JSON values,
 * arbitrary bytes, arbitrary field values and arbitrary model ids in the path. Whatever
 * comes in, the answer is never a 5xx, every 4xx is the OpenAI envelope, every
 * validation message is ours, and nothing is logged as an error.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import fc from "fast-check"
import { expectAlive, expectEnvelope, expectNoErrorLogs, MODEL, startTarget, type Target } from "../helpers/bad-input.ts"
import { head, rawRequest } from "../helpers/raw-http.ts"

let target: Target

beforeAll(async () => {
  target = await startTarget()
})

afterAll(async () => {
  await target.stop()
})

// Enough to find the classes of failure above; each run is one real HTTP request.
const RUNS = { numRuns: 80 }

async function post(path: string, body: string | Uint8Array): Promise<{ status: number; text: string }> {
  const res = await fetch(`${target.nexus.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body })
  return { status: res.status, text: await res.text() }
}

/** Success, or a 4xx in the envelope: never a 5xx. */
function expectHandled(status: number, text: string): void {
  expect(status).toBeLessThan(500)
  if (status >= 400) expectEnvelope(status, text)
}

const ROUTES = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/nexus/route"]

test("any JSON value on any body route: handled, never a 5xx", async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...ROUTES), fc.jsonValue({ maxDepth: 4 }), async (path, value) => {
      const { status, text } = await post(path, JSON.stringify(value))
      expectHandled(status, text)
    }),
    RUNS
  )
})

test("any bytes as a body: handled, never a 5xx", async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...ROUTES), fc.uint8Array({ maxLength: 256 }), async (path, bytes) => {
      const { status, text } = await post(path, bytes)
      expectHandled(status, text)
    }),
    RUNS
  )
})

const chatish = fc.record(
  {
    model: fc.oneof(fc.constant(MODEL), fc.anything({ maxDepth: 2 })),
    messages: fc.oneof(fc.constant([{ role: "user", content: "hi" }]), fc.anything({ maxDepth: 3 })),
    stream: fc.oneof(fc.boolean(), fc.anything({ maxDepth: 1 })),
  },
  { requiredKeys: [] }
)

test("arbitrary model, messages and stream: a 400 names a field in our own words", async () => {
  await fc.assert(
    fc.asyncProperty(chatish, async (body) => {
      const { status, text } = await post("/v1/chat/completions", JSON.stringify(body))
      expectHandled(status, text)
      if (status !== 400) return
      const { error } = expectEnvelope(status, text, 400)
      // A body JSON cannot round-trip (e.g. `-0` or a huge number) is still JSON; only validation is checked here.
      if (error.code !== "invalid_request") return
      expect(error.param).toMatch(/^(model|messages|stream)(\.|$)/)
      expect(error.message).toContain("`")
      expect(error.message).not.toMatch(/^Invalid /)
    }),
    RUNS
  )
})

// Characters a request target may carry, with `%` over-represented to make broken escapes.
const idChar = fc.constantFrom(..."abcXYZ019-._~%%%%/:@!$&'()*+,;=".split(""), "%ff", "%2F", "%E0%A4", "%C3%A9", "%00")

test("any model id in the path: 200, 400 or 404, never a 5xx", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(idChar, { minLength: 1, maxLength: 24 }), async (chars) => {
      const res = await rawRequest(target.nexus.port, head("GET", `/v1/models/${chars.join("")}`))
      expect([200, 400, 404]).toContain(res.status)
      if (res.status !== 200) expectEnvelope(res.status, res.body)
    }),
    RUNS
  )
})

test("none of it was logged as an error, and Nexus still serves", async () => {
  expectNoErrorLogs(target.nexus)
  await expectAlive(target.nexus)
})
