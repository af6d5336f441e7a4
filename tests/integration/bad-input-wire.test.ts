/**
 * Requests broken on the wire: headers Bun's parser refuses, lying or conflicting
 * lengths, bodies of 11 MB (declared, chunked, declared but never sent), bodies that
 * trickle, stall or never end.
 *
 * What Bun 1.4.5 answers on its own, before any Nexus code runs (Bun.serve's `error`
 * handler is not called and no option changes it): a bare status line with
 * `Connection: close` and no body, so no JSON envelope is possible there:
 * - 431 for a header block over 16 KiB (`--max-http-header-size` moves the limit only);
 * - 400 for bare CR or LF, NUL or a space in a header, obs-fold, a missing Host on
 *   HTTP/1.1, conflicting or non-numeric Content-Length, Content-Length with
 *   Transfer-Encoding, an unknown transfer coding, broken chunk framing, a garbage
 *   request line;
 * - 505 (not a 4xx) when the request line has a space or control byte in the target or
 *   an HTTP version other than 1.0/1.1;
 * - nothing at all, just a close, for a method token it does not know (`FOO`, `get`).
 * These tests pin that down: the answer is at most that, the connection is closed, no
 * error is logged and Nexus keeps serving.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import type { Socket } from "node:net"
import { expectAlive, expectEnvelope, expectNoErrorLogs, JSON_ROUTES, MODEL, startTarget, type Target } from "../helpers/bad-input.ts"
import { head, rawRequest, write } from "../helpers/raw-http.ts"

// Short, so that a body that stalls is refused quickly; every other request here is instant.
const TIMEOUT_S = 1
let target: Target

beforeAll(async () => {
  target = await startTarget({ request_timeout_seconds: TIMEOUT_S })
})

afterAll(async () => {
  await target.stop()
})

const port = () => target.nexus.port
const BODY = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }] })

const BUN_OWNED: [string, string, number][] = [
  ["a 100 KB header", head("GET", "/health", [`X-Big: ${"a".repeat(100_000)}`]), 431],
  ["500 headers", head("GET", "/health", Array.from({ length: 500 }, (_, i) => `X-H${i}: v`)), 431],
  ["a 100 KB URL", head("GET", `/v1/models/${"a".repeat(100_000)}`), 431],
  ["a bare LF in a header value", head("GET", "/health", ["X-Request-Id: a\nb"]), 400],
  ["a bare CR in a header value", head("GET", "/health", ["X-Request-Id: a\rb"]), 400],
  ["a NUL in a header value", head("GET", "/health", ["X-Request-Id: a\u0000b"]), 400],
  ["a space in a header name", head("GET", "/health", ["X Request-Id: a"]), 400],
  ["an obs-folded header", head("GET", "/health", ["X-Request-Id: a", " b"]), 400],
  ["no Host on HTTP/1.1", "GET /health HTTP/1.1\r\n\r\n", 400],
  ["conflicting Content-Length", head("POST", "/v1/chat/completions", ["Content-Length: 5", "Content-Length: 6"]) + "abcdef", 400],
  ["a negative Content-Length", head("POST", "/v1/chat/completions", ["Content-Length: -1"]), 400],
  ["a Content-Length of 20 digits", head("POST", "/v1/chat/completions", ["Content-Length: 99999999999999999999"]), 400],
  ["Content-Length with chunked", head("POST", "/v1/chat/completions", ["Content-Length: 5", "Transfer-Encoding: chunked"]) + "0\r\n\r\n", 400],
  ["an unknown transfer coding", head("POST", "/v1/chat/completions", ["Transfer-Encoding: gzip"]) + "abc", 400],
  ["a chunk size that is not hex", head("POST", "/v1/chat/completions", ["Transfer-Encoding: chunked"]) + "zz\r\nabc\r\n0\r\n\r\n", 400],
  ["a chunk longer than its size", head("POST", "/v1/chat/completions", ["Transfer-Encoding: chunked"]) + "2\r\nabcdef\r\n0\r\n\r\n", 400],
  ["a garbage request line", "HELLO\r\n\r\n", 400],
  ["OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400],
  ["a space in the target", "GET /v1/mo dels HTTP/1.1\r\nHost: x\r\n\r\n", 505],
  ["a control byte in the target", "GET /v1/models/\u0001 HTTP/1.1\r\nHost: x\r\n\r\n", 505],
  ["HTTP/2.0 in the request line", "GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 505],
  ["an unknown method", head("FOO", "/v1/models"), 0],
  ["a lower-case method", head("get", "/v1/models"), 0],
]

describe("what Bun answers itself (no envelope possible)", () => {
  test.each(BUN_OWNED)("%s: %d and the connection closed", async (_, request, status) => {
    const res = await rawRequest(port(), request)
    expect(res.timedOut).toBe(false)
    expect(res.closed).toBe(true)
    expect(res.status).toBe(status)
  })
})

const ELEVEN_MB = 11 * 1024 * 1024
const BLOCK = Buffer.alloc(64 * 1024, "a")

/** Stream `total` bytes, as chunked framing if asked, until done or the server hangs up. */
async function pump(socket: Socket, total: number, chunked: boolean) {
  for (let sent = 0; sent < total; sent += BLOCK.length) {
    if (chunked) await write(socket, `${BLOCK.length.toString(16)}\r\n`)
    await write(socket, BLOCK)
    if (chunked) await write(socket, "\r\n")
  }
  if (chunked) await write(socket, "0\r\n\r\n")
}

// Every JSON route takes a body that says it is JSON (the admin API refuses any other type first).
const JSON_TYPE = "Content-Type: application/json"

describe.each(JSON_ROUTES)("POST %s", (path) => {
  test("11 MB with a declared length: 413", async () => {
    const res = await rawRequest(port(), head("POST", path, [JSON_TYPE, `Content-Length: ${ELEVEN_MB}`]), {
      then: (s) => pump(s, ELEVEN_MB, false),
    })
    expect(expectEnvelope(res.status, res.body, 413).error.code).toBe("request_too_large")
  })

  test("11 MB chunked: 413 once the limit is passed", async () => {
    const res = await rawRequest(port(), head("POST", path, [JSON_TYPE, "Transfer-Encoding: chunked"]), {
      then: (s) => pump(s, ELEVEN_MB, true),
    })
    expect(expectEnvelope(res.status, res.body, 413).error.code).toBe("request_too_large")
  })

  test("11 MB declared and never sent: 413 at once", async () => {
    const res = await rawRequest(port(), head("POST", path, [JSON_TYPE, `Content-Length: ${ELEVEN_MB}`]))
    expect(expectEnvelope(res.status, res.body, 413).error.code).toBe("request_too_large")
  })

  test("a small body declared and never sent: 408 within the request timeout", async () => {
    const res = await rawRequest(port(), head("POST", path, [JSON_TYPE, "Content-Length: 100"]) + '{"model"', {
      timeoutMs: TIMEOUT_S * 1000 + 3000,
    })
    expect(expectEnvelope(res.status, res.body, 408).error.code).toBe("request_timeout")
  })

  test("a chunked body that never ends: 413", async () => {
    const res = await rawRequest(port(), head("POST", path, [JSON_TYPE, "Transfer-Encoding: chunked"]), {
      then: (s) => pump(s, Number.POSITIVE_INFINITY, true),
    })
    expect(expectEnvelope(res.status, res.body, 413).error.code).toBe("request_too_large")
  })
})

describe("slow clients", () => {
  // The client's own pace is the input under test here, not a wait for a condition.
  const pace = () => Bun.sleep(20)

  test("a body that trickles in within the limit is served", async () => {
    const res = await rawRequest(port(), head("POST", "/v1/chat/completions", [`Content-Length: ${BODY.length}`]), {
      then: async (s) => {
        for (let i = 0; i < BODY.length; i += 8) {
          await write(s, BODY.slice(i, i + 8))
          await pace()
        }
      },
    })
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body).object).toBe("chat.completion")
  })

  test("a chunked body that trickles forever: 408 at the request timeout, not a hang", async () => {
    const res = await rawRequest(port(), head("POST", "/v1/chat/completions", ["Transfer-Encoding: chunked"]), {
      timeoutMs: TIMEOUT_S * 1000 + 3000,
      then: async (s) => {
        await write(s, '1\r\n{\r\n')
        for (;;) {
          await write(s, "1\r\n \r\n")
          await pace()
        }
      },
    })
    expect(expectEnvelope(res.status, res.body, 408).error.code).toBe("request_timeout")
    expect(res.ms).toBeLessThan(TIMEOUT_S * 1000 + 2000)
  })

  test("a declared body that stops half way: 408", async () => {
    const res = await rawRequest(port(), head("POST", "/v1/nexus/route", [`Content-Length: ${BODY.length}`]) + BODY.slice(0, 10), {
      timeoutMs: TIMEOUT_S * 1000 + 3000,
    })
    expect(expectEnvelope(res.status, res.body, 408).error.code).toBe("request_timeout")
  })
})

test("Bun.serve runs in production mode: its development error page would show source to clients", () => {
  expect(target.nexus.server.development).toBe(false)
})

test("none of it was logged as an error, and Nexus still serves", async () => {
  expectNoErrorLogs(target.nexus)
  await expectAlive(target.nexus)
})
