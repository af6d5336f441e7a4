import { expect, test } from "bun:test"
import { relayBody, type RelayEnd } from "../../src/egress/transport/relay.ts"
import { until } from "../helpers/wait.ts"

const enc = new TextEncoder()

/** An upstream body that sends `first` at once and closes when `close()` is called. */
function upstream(first: string) {
  let ctrl!: ReadableStreamDefaultController<Uint8Array>
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      ctrl = c
      c.enqueue(enc.encode(first))
    },
  })
  return { body, close: () => ctrl.close() }
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text()
}

test("a stream still open after a second asks once for the connection to be kept open; a short one never does", async () => {
  const calls = { long: 0, short: 0 }
  const ends: RelayEnd[] = []
  const base = { sse: true, abort: () => {}, onEnd: (e: RelayEnd) => ends.push(e), backendName: "b" }
  const short = upstream('data: {"choices":[]}\n\n')
  const shortText = drain(relayBody(short.body, { ...base, keepOpen: () => calls.short++ }))
  short.close()
  await shortText
  const long = upstream('data: {"choices":[]}\n\n')
  const longText = drain(relayBody(long.body, { ...base, keepOpen: () => calls.long++ }))
  await until(() => calls.long, (n) => n > 0, { what: "keep-open on the long stream" })
  long.close()
  await longText
  // The short stream's second passed before the long one's: it would have been called by now.
  expect(calls).toEqual({ long: 1, short: 0 })
  expect(ends.map((e) => e.how)).toEqual(["complete", "complete"])
})

test("heartbeats: a quiet stream gets keep-alive comments, each after the quiet interval", async () => {
  const u = upstream('data: {"choices":[]}\n\n')
  const reader = relayBody(u.body, { sse: true, abort: () => {}, onEnd: () => {}, backendName: "b", heartbeatMs: 50 }).getReader()
  const dec = new TextDecoder()
  let text = ""
  while ((text.match(/: keep-alive/g) ?? []).length < 2) text += dec.decode((await reader.read()).value)
  u.close()
  expect(text.startsWith('data: {"choices":[]}\n\n')).toBe(true)
  expect(text).toContain(": keep-alive\n\n: keep-alive\n\n")
})

test("Nexus stopping ends every open stream with the error event and a clean end", async () => {
  const shutdown = new AbortController()
  const ends: RelayEnd[] = []
  const streams = [1, 2, 3].map(() => {
    const u = upstream('data: {"choices":[]}\n\n')
    return drain(relayBody(u.body, { sse: true, abort: () => {}, onEnd: (e) => ends.push(e), backendName: "b", shutdown: shutdown.signal }))
  })
  shutdown.abort()
  const texts = await Promise.all(streams)
  for (const t of texts) expect(t).toContain("server_shutdown")
  expect(ends.map((e) => e.how)).toEqual(["shutdown", "shutdown", "shutdown"])
})
