/**
 * Odd methods on every route, `..`, `//` and broken percent-encoding in paths, odd
 * Host and X-Request-Id headers. Sent over a raw socket so nothing normalises them
 * on the way. Each answer is in the OpenAI envelope; none is a 500.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { expectAlive, expectEnvelope, expectNoErrorLogs, MODEL, ROUTES, startTarget, type Target } from "../helpers/bad-input.ts"
import { head, rawRequest } from "../helpers/raw-http.ts"

let target: Target

beforeAll(async () => {
  target = await startTarget()
})

afterAll(async () => {
  await target.stop()
})

const send = (method: string, path: string, headers: string[] = []) => rawRequest(target.nexus.port, head(method, path, headers))

const ODD = ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"]
const METHOD_CASES = ROUTES.flatMap(({ path, methods }) =>
  ODD.filter((m) => !methods.includes(m)).map((method) => ({ method, path, methods }))
)

describe("odd methods", () => {
  test.each(METHOD_CASES)("$method $path: 405 with Allow", async ({ method, path, methods }) => {
    const res = await send(method, path)
    const { error } = expectEnvelope(res.status, res.body, 405)
    expect(error.code).toBe("method_not_allowed")
    const allow = methods.includes("GET") ? [...methods, "HEAD"] : methods
    expect(res.headers.allow?.split(", ").sort()).toEqual(allow.sort())
  })

  test("HEAD of a GET route is answered like GET, without a body", async () => {
    const res = await fetch(`${target.nexus.url}/health`, { method: "HEAD" })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe("")
  })
})

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

describe("Host and X-Request-Id", () => {
  test.each([
    ["no Host at all (HTTP/1.0, as load balancer checks send it)", "GET /health HTTP/1.0\r\n\r\n"],
    ["an empty Host", "GET /health HTTP/1.1\r\nHost:\r\n\r\n"],
    ["a Host with a space", "GET /health HTTP/1.1\r\nHost: a b\r\n\r\n"],
    ["a Host with a path", "GET /health HTTP/1.1\r\nHost: evil.example/x?\r\n\r\n"],
    ["an unclosed IPv6 Host", "GET /health HTTP/1.1\r\nHost: [::1\r\n\r\n"],
  ])("/health with %s is still /health", async (_, request) => {
    const res = await rawRequest(target.nexus.port, request)
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body).status).toBe("healthy")
  })

  test("a model id is found without a Host too", async () => {
    const res = await rawRequest(target.nexus.port, `GET /v1/models/${MODEL} HTTP/1.0\r\n\r\n`)
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body).id).toBe(MODEL)
  })

  test("CRLF in X-Request-Id only starts another header; nothing is injected into the answer", async () => {
    const res = await send("GET", "/v1/models/nope", ["X-Request-Id: abc\r\nX-Injected: 1"])
    expectEnvelope(res.status, res.body, 404)
    expect(res.headers["x-request-id"]).toBe("abc")
    expect(res.headers["x-injected"]).toBeUndefined()
  })

  test.each([
    ["longer than 128 characters", "a".repeat(129)],
    ["with spaces and quotes", 'a b"c'],
    ["with non-ASCII characters", "caf\u00e9"],
    ["with a tab", "a\tb"],
    ["with HTML", "<script>"],
  ])("an X-Request-Id %s is replaced by a fresh id", async (_, id) => {
    const res = await send("GET", "/v1/models/nope", [`X-Request-Id: ${id}`])
    expectEnvelope(res.status, res.body, 404)
    expect(res.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/)
  })
})

test("none of it was logged as an error, and Nexus still serves", async () => {
  expectNoErrorLogs(target.nexus)
  await expectAlive(target.nexus)
})
