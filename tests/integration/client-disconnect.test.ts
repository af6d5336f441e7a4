/**
 * A client that leaves mid-upload is normal: a debug line and a counter
 * (`nexus_client_disconnects_total{stage}`), never an error-level line calling it a bug
 * (which let any client flood the log).
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { expectAlive, expectNoErrorLogs, JSON_ROUTES, MODEL, startTarget, waitFor, type Target } from "../helpers/bad-input.ts"
import { head, rawRequest } from "../helpers/raw-http.ts"

let target: Target

beforeAll(async () => {
  target = await startTarget()
})

afterAll(async () => {
  await target.stop()
})

/** The counter as Prometheus scrapes it. */
async function disconnects(stage: string): Promise<number> {
  const text = await (await fetch(`${target.nexus.url}/metrics`)).text()
  const line = text.split("\n").find((l) => l.startsWith(`nexus_client_disconnects_total{stage="${stage}"}`))
  return line ? Number(line.split(" ").pop()) : 0
}

/** Start `count` uploads, wait until Nexus is reading every one of them, then vanish. */
async function abortMidUpload(path: string, framing: string[], partial: string, count = 1): Promise<void> {
  // The previous upload may still be winding down: start from a quiet server.
  await waitFor(() => target.nexus.server.pendingRequests === 0)
  const reading = waitFor(() => target.nexus.server.pendingRequests === count)
  const uploads = Array.from({ length: count }, () =>
    // A JSON upload says so: the admin API refuses other types before reading a byte.
    rawRequest(target.nexus.port, head("POST", path, ["Content-Type: application/json", ...framing]) + partial, {
      then: async (socket) => {
        await reading
        socket.destroy()
      },
    })
  )
  await Promise.all(uploads)
}

const partial = `{"model": "${MODEL}", "messages": [{"role": "user", "content": "`
const closedLines = () => target.nexus.logs.filter((l) => l.msg === "client closed the connection")

test("a client that aborts mid-upload: no error line, the counter goes up, a debug line says why", async () => {
  const before = await disconnects("request_body")
  await abortMidUpload("/v1/chat/completions", ["Content-Length: 10000"], partial)
  await waitFor(async () => (await disconnects("request_body")) === before + 1)
  // The debug line may trail the counter: the wait below looks for it rather than assume it.
  await waitFor(() => closedLines().length === 1)
  expect(closedLines()[0]).toMatchObject({ level: "debug", path: "/v1/chat/completions", stage: "request_body" })
  expectNoErrorLogs(target.nexus)
})

test("the same for a chunked upload, on every route that reads a body", async () => {
  const before = await disconnects("request_body")
  for (const path of JSON_ROUTES) await abortMidUpload(path, ["Transfer-Encoding: chunked"], `5\r\n{"mod\r\n`)
  await waitFor(async () => (await disconnects("request_body")) === before + JSON_ROUTES.length)
  await waitFor(() => closedLines().length === 1 + JSON_ROUTES.length)
  expect(new Set(closedLines().map((l) => l.path))).toEqual(new Set(JSON_ROUTES))
  expectNoErrorLogs(target.nexus)
})

test("a malformed chunked body is Bun's 400, and nothing at error level", async () => {
  const res = await rawRequest(target.nexus.port, head("POST", "/v1/chat/completions", ["Transfer-Encoding: chunked"]) + "5\r\n{}\r\nzz\r\n")
  expect(res.status).toBe(400)
  expect(res.closed).toBe(true)
  expectNoErrorLogs(target.nexus)
})

test("a hundred clients that leave at once: a hundred debug lines, no error line", async () => {
  const before = await disconnects("request_body")
  const lines = closedLines().length
  await abortMidUpload("/v1/chat/completions", ["Content-Length: 500"], partial, 100)
  await waitFor(async () => (await disconnects("request_body")) === before + 100)
  await waitFor(() => closedLines().length === lines + 100)
  expectNoErrorLogs(target.nexus)
  await expectAlive(target.nexus)
})
