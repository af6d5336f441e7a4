import { expect, test } from "bun:test"
import { UpstreamAbort } from "../../src/egress/transport/upstream-abort.ts"
import { until } from "../helpers/wait.ts"

const later = (ms: number) => performance.now() + ms

test("a client that leaves at once aborts the upstream request (noticed within the first wait)", async () => {
  const client = new AbortController()
  const up = new UpstreamAbort(client.signal, later(60_000))
  client.abort(new Error("gone"))
  await until(() => up.signal.aborted, Boolean, { what: "upstream aborted" })
  expect((up.signal.reason as Error).message).toBe("gone")
  expect(up.timedOut).toBe(false)
  up.release()
})

test("a client that leaves after a long wait aborts the upstream request when it leaves", async () => {
  const client = new AbortController()
  const up = new UpstreamAbort(client.signal, later(60_000))
  // Past the first check: from here on the client's signal is listened to.
  await until(() => up.listening, Boolean, { what: "listening" })
  expect(up.signal.aborted).toBe(false)
  client.abort(new Error("gone later"))
  expect(up.signal.aborted).toBe(true)
  up.release()
})

test("an answer that does not start in time is a first-byte timeout", async () => {
  const client = new AbortController()
  const up = new UpstreamAbort(client.signal, later(80))
  await until(() => up.signal.aborted, Boolean, { what: "timeout" })
  expect(up.timedOut).toBe(true)
  expect((up.signal.reason as DOMException).name).toBe("TimeoutError")
})

test("an answer that started is not timed out", async () => {
  const up = new UpstreamAbort(new AbortController().signal, later(30))
  up.started()
  const other = new UpstreamAbort(new AbortController().signal, later(60))
  await until(() => other.signal.aborted, Boolean, { what: "a later deadline" })
  // The first one's deadline was earlier than the other's: had it fired, it would have by now.
  expect(up.signal.aborted).toBe(false)
  up.release()
})

test("a released attempt no longer follows the client", async () => {
  const client = new AbortController()
  const up = new UpstreamAbort(client.signal, later(60_000))
  await until(() => up.listening, Boolean, { what: "listening" })
  up.release()
  client.abort()
  expect(up.signal.aborted).toBe(false)
})

test("an attempt asks for the connection to be kept open once it has waited, never when its answer came at once", async () => {
  let waited = 0
  let quick = 0
  const slow = new UpstreamAbort(new AbortController().signal, later(60_000), () => waited++)
  const fast = new UpstreamAbort(new AbortController().signal, later(60_000), () => quick++)
  fast.started()
  fast.release()
  await until(() => waited, (n) => n > 0, { what: "the slow attempt's keep-open" })
  // Both first checks were due at the same moment: the fast one's would have run by now.
  expect([waited, quick]).toEqual([1, 0])
  slow.release()
})
