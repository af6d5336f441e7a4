/**
 * A backend's model name may hold anything (unicode, CR, LF, NUL, great length): it is
 * named in `X-Nexus-*` headers, encoded so that every client accepts them, and every
 * dialect answers it, streaming or not, without a 500 and with every in-flight count
 * back at 0.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import fc from "fast-check"
import { startOllama, type Emulator } from "../../emulators/index.ts"
import { backend, ENDPOINT_BODIES, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { eventually } from "../helpers/wait.ts"

/** Names as odd as a server may report: non-ASCII, control characters, long. */
const nameArb = fc.oneof(
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }),
  fc.string({ unit: fc.constantFrom("a", "-", "模", "🦙", "\r", "\n", "\0", "%", " ", "\t", "é"), minLength: 1, maxLength: 30 }),
  fc.string({ unit: "binary", minLength: 1, maxLength: 20 }),
  fc.constant("uni-模型-🦙"),
  fc.constant("bad\r\nx-injected: 1"),
  fc.string({ minLength: 2000, maxLength: 3000 }).map((s) => `long-${s}-模`)
)
// A name the router finds as asked: no `:latest` folding, no leading or trailing space.
const NAMES = [...new Set(["uni-模型-🦙", "bad\r\nx-injected: 1", "nul\0name", ...fc.sample(nameArb, { numRuns: 120, seed: 7 })].filter((n) => n.trim() === n && n.trim() && !n.endsWith(":latest")))]


let ollama: Emulator
let nexus: TestNexus

beforeAll(async () => {
  ollama = await startOllama({ models: NAMES.map((id) => ({ id, capabilities: ["completion", "tools", "embedding"] })) })
  nexus = await startNexus({ backends: [backend("ollama", ollama.url, "ollama", { max_concurrent: 4 })] })
})

afterAll(async () => {
  await nexus.stop(0)
  await ollama.stop()
})

test("every model name, through every dialect, streaming or not: no 500, every count back at 0", async () => {
  expect(NAMES.length).toBeGreaterThan(60)
  let answered = 0
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...NAMES), fc.constantFrom(...Object.keys(ENDPOINT_BODIES)), fc.boolean(), async (name, path, stream) => {
      const res = await nexus.post(path, ENDPOINT_BODIES[path]!(name, stream))
      const body = await res.text()
      expect(res.status, `${path} ${JSON.stringify(name)} ${stream}: ${body.slice(0, 300)}`).toBeLessThan(500)
      const header = res.headers.get("x-nexus-model")
      if (res.status === 200) {
        answered++
        expect(decodeURIComponent(header!)).toBe(name.toWellFormed())
      }
      await eventually(() => nexus.inFlight() === 0 && ollama.stats.inFlight === 0, 5000, "in-flight counts back at 0")
    }),
    { numRuns: 300 }
  )
  // The names were found and answered, not merely refused.
  expect(answered).toBeGreaterThan(250)
}, 120_000)

test("a name with CR LF cannot add a header of its own", async () => {
  const res = await nexus.post("/v1/chat/completions", ENDPOINT_BODIES["/v1/chat/completions"]!("bad\r\nx-injected: 1", true))
  await res.text()
  expect(res.status).toBe(200)
  expect(res.headers.get("x-injected")).toBeNull()
  expect(res.headers.get("x-nexus-model")).toBe("bad%0D%0Ax-injected:%201")
})
