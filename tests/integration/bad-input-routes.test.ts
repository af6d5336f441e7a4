/**
 * `..`, `//` and broken percent-encoding in paths. Sent over a raw socket so nothing
 * normalises them on the way. Each answer is in the OpenAI envelope; none is a 500.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { expectAlive, expectEnvelope, expectNoErrorLogs, MODEL, startTarget, type Target } from "../helpers/bad-input.ts"
import { head, rawRequest } from "../helpers/raw-http.ts"

let target: Target

beforeAll(async () => {
  target = await startTarget()
})

afterAll(async () => {
  await target.stop()
})

const send = (method: string, path: string, headers: string[] = []) => rawRequest(target.nexus.port, head(method, path, headers))

interface PathCase {
  path: string
  method?: string
  status: number
  code?: string
}

const PATHS: PathCase[] = [
  // Broken escapes in a model id are the client's error, not a crash.
  { path: "/v1/models/%ff", status: 400, code: "invalid_model_id" },
  { path: "/v1/models/%", status: 400, code: "invalid_model_id" },
  { path: "/v1/models/%E0%A4%A", status: 400, code: "invalid_model_id" },
  { path: "/v1/models/%C0%AF", status: 400, code: "invalid_model_id" },
  { path: "/v1/models/%ED%A0%80", status: 400, code: "invalid_model_id" },
  { path: "/v1/models/a%2", status: 400, code: "invalid_model_id" },
  { path: "/v1/models/tiny%00", status: 404, code: "model_not_found" },
  { path: "/v1/models/meta-llama%2FLlama", status: 404, code: "model_not_found" },
  { path: `/v1/models/${"x".repeat(10 * 1024)}`, status: 404, code: "model_not_found" },
  { path: "/v1/models/..%2F..%2Fetc%2Fpasswd", status: 404, code: "model_not_found" },
  { path: "//v1//models", status: 404, code: "unknown_route" },
  { path: "/v1/models//", status: 404, code: "model_not_found" },
  { path: "/v1//chat/completions", method: "POST", status: 404, code: "unknown_route" },
  { path: "/v1/chat/completions/", method: "POST", status: 404, code: "unknown_route" },
  { path: "/v1/chat%2Fcompletions", method: "POST", status: 404, code: "unknown_route" },
  { path: "/v1/backends/%ff", status: 404, code: "backend_not_found" },
  { path: "/v1/backends/%ff/drain", method: "POST", status: 404, code: "backend_not_found" },
  { path: "/v1/backends/..%2F..%2Fhealth", status: 404, code: "backend_not_found" },
  { path: "/v1/backends/%", method: "DELETE", status: 404, code: "backend_not_found" },
  { path: "/%", status: 404, code: "unknown_route" },
  { path: "/v1/%ZZ", status: 404, code: "unknown_route" },
]

describe("paths", () => {
  const cases = PATHS.map((c) => ({ ...c, method: c.method ?? "GET", shown: c.path.length > 60 ? `${c.path.slice(0, 40)}... (10 KB)` : c.path }))
  test.each(cases)("$method $shown: $status $code", async ({ path, method, status, code }) => {
    const res = await send(method, path, method === "POST" ? ["Content-Length: 0"] : [])
    const { error } = expectEnvelope(res.status, res.body, status)
    expect(error.code).toBe(code!)
  })

  test("a model id is percent-decoded exactly once", async () => {
    const ok = await send("GET", "/v1/models/ti%6Ey")
    expect(ok.status).toBe(200)
    expect(JSON.parse(ok.body).id).toBe(MODEL)
    // `%25` is a literal percent sign: the id is `50%off`, not a broken escape.
    const pct = await send("GET", "/v1/models/50%25off")
    expect(expectEnvelope(pct.status, pct.body, 404).error.message).toContain("'50%off'")
  })

  test.each(["/v1/../health", "/v1/%2e%2e/health", "/v1/models/../../health", "/health?%ff=%zz&x"])(
    "%s resolves to /health (dot segments are Bun's to normalise)",
    async (path) => {
      const res = await send("GET", path)
      expect(res.status).toBe(200)
      expect(JSON.parse(res.body).status).toBe("healthy")
    }
  )
})

test("none of it was logged as an error, and Nexus still serves", async () => {
  expectNoErrorLogs(target.nexus)
  await expectAlive(target.nexus)
})
