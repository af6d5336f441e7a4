import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { providerFor } from "../../src/egress/providers/index.ts"
import type { EventFix } from "../../src/egress/providers/types.ts"
import { createSseReader } from "../../src/egress/transport/sse.ts"

function feed(chunks: string[], fixEvent?: EventFix): { out: string; reader: ReturnType<typeof createSseReader> } {
  const reader = createSseReader(fixEvent)
  let out = ""
  for (const c of chunks) out += reader.push(c)
  out += reader.finish()
  return { out, reader }
}

describe("SSE reader", () => {
  test("forwards whole events untouched and ends with exactly one [DONE]", () => {
    const events = ['data: {"a":1}\n\n', 'data: {"b":2}\n\n', "data: [DONE]\n\n"]
    expect(feed(events).out).toBe(events.join(""))
  })

  test("holds an event split across chunks until it is complete", () => {
    const r = createSseReader()
    expect(r.push('data: {"choi')).toBe("")
    expect(r.push('ces":[]}\n')).toBe("")
    expect(r.push("\n")).toBe('data: {"choices":[]}\n\n')
  })

  test("adds [DONE] when the backend ends without it (llamafile)", () => {
    expect(feed(['data: {"x":1}\n\n']).out).toBe('data: {"x":1}\n\ndata: [DONE]\n\n')
  })

  test("drops a duplicate [DONE] and anything after it", () => {
    const { out } = feed(["data: [DONE]\n\n", "data: [DONE]\n\n", 'data: {"late":1}\n\n'])
    expect(out).toBe("data: [DONE]\n\n")
  })

  test("reads usage from the stream without changing it", () => {
    const usage = 'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}\n\n'
    const { out, reader } = feed([usage, "data: [DONE]\n\n"])
    expect(out).toBe(`${usage}data: [DONE]\n\n`)
    expect(reader.seen.usage).toEqual({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 })
  })

  test("llamafile: turns an `error:` field into a data error the SDKs understand", () => {
    const { out, reader } = feed(['data: {"x":1}\n\n', 'error: {"message":"slot failed"}\n\n'], providerFor("llamafile").fixEvent)
    const events = out.split("\n\n").filter(Boolean)
    expect(JSON.parse(events[1]!.slice(6))).toEqual({
      error: { message: "slot failed", type: "server_error", param: null, code: "upstream_error" },
    })
    expect(events[2]).toBe("data: [DONE]")
    expect(reader.seen.upstreamError).toBe("slot failed")
  })

  test("normalises CRLF framing and keeps comments", () => {
    const { out } = feed([": keep-alive\r\n\r\ndata: {\"a\":1}\r\n\r\n"])
    expect(out).toBe(': keep-alive\n\ndata: {"a":1}\n\ndata: [DONE]\n\n')
  })

  test("notices the first data event but not comments", () => {
    const r = createSseReader()
    r.push(": keep-alive\n\n")
    expect(r.seen.sawData).toBe(false)
    r.push('data: {"choices":[{"delta":{"content":"hi"}}]}\n\n')
    expect(r.seen.sawData).toBe(true)
  })
})

describe("SSE reader fast path", () => {
  test("unchanged complete events come back as the very input, so bytes can be forwarded as they are", () => {
    const r = createSseReader()
    const text = 'data: {"a":"é"}\n\ndata: {"b":2}\n\n'
    expect(r.push(text)).toBe(text)
    const partial = 'data: {"c":3}\n\ndata: {"d"'
    expect(r.push(partial)).toBe('data: {"c":3}\n\n')
  })

  test("exo: relabels its chunks as chat.completion.chunk and leaves every other byte alone", () => {
    const fix = providerFor("exo").fixEvent
    const exo = 'data: {"id": "c1", "object": "chat.completion", "model": "llama-3.2-1b", "choices": [{"index": 0, "delta": {"content": "chat.completion"}}]}\n\n'
    const { out } = feed([": keep-alive\n\n", exo], fix)
    expect(out).toBe(
      ': keep-alive\n\ndata: {"id": "c1", "object":"chat.completion.chunk", "model": "llama-3.2-1b", "choices": [{"index": 0, "delta": {"content": "chat.completion"}}]}\n\ndata: [DONE]\n\n'
    )
    // A proper chunk label is not touched.
    const ok = 'data: {"object":"chat.completion.chunk","choices":[]}\n\n'
    expect(feed([ok], fix).out).toBe(`${ok}data: [DONE]\n\n`)
    // Other servers' chunks are never relabelled: the fix belongs to exo.
    expect(feed([exo]).out).toBe(`${exo}data: [DONE]\n\n`)
  })

  test("LM Studio: a string-valued error becomes the OpenAI error object", () => {
    const { out, reader } = feed(['data: {"error":"Model unloaded"}\n\n'], providerFor("lmstudio").fixEvent)
    expect(out).toBe('data: {"error":{"message":"Model unloaded","type":"upstream_error","param":null,"code":null}}\n\ndata: [DONE]\n\n')
    expect(reader.seen.upstreamError).toBe("Model unloaded")
  })
})

describe("SSE reader, for every way a stream is cut into chunks", () => {
  const event = fc.oneof(
    fc.json({ maxDepth: 2 }).map((j) => `data: ${j}`),
    fc.string({ unit: "grapheme", maxLength: 2000 }).map((t) => `data: ${JSON.stringify({ choices: [{ delta: { content: t } }] })}`),
    fc.constant(": keep-alive"),
    fc.constant('event: x\ndata: {"a":1}')
  )
  const stream = fc.record({ events: fc.array(event, { maxLength: 8 }), crlf: fc.boolean() })

  test("the output is the same as for the whole stream in one piece", () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 12 }), ({ events, crlf }, cuts) => {
        let text = events.map((e) => `${e}\n\n`).join("")
        if (crlf) text = text.replaceAll("\n", "\r\n")
        const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)
        const chunks = [0, ...at].map((from, i, all) => text.slice(from, all[i + 1] ?? text.length))
        expect(feed(chunks).out).toBe(feed([text]).out)
      }),
      { numRuns: 300 }
    )
  })
})
