/**
 * The one event-stream reader and the one fold of an OpenAI answer, for every way a
 * stream's bytes are cut into chunks: inside a multi-byte character, between CR and LF.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import fc from "fast-check"
import { FrameReader, type Framing } from "../../src/core/frames.ts"
import { OpenAIFold, foldedDocument } from "../../src/core/openai-fold.ts"
import { StreamAssembler } from "../../src/egress/transport/convert.ts"
import { createSseReader } from "../../src/egress/transport/sse.ts"
import { wholeResponse, type Answer } from "../../src/ingress/answer.ts"
import { startVllm, type VllmEmulator } from "../../emulators/index.ts"

const enc = new TextEncoder()

/** Text with characters of one to four UTF-8 bytes, and no line breaks. */
const text = fc.string({ unit: fc.constantFrom("a", "Z", " ", ":", "{", '"', "é", "—", "日", "🎉", "\u{10FFFF}"), maxLength: 40 })
const sseLine = fc.oneof(
  text.map((t) => `data: ${t}`),
  text.map((t) => `data:${t}`),
  text.map((t) => `: ${t}`),
  text.map((t) => `event: ${t}`),
  text.map((t) => `id: ${t}`)
)
const sseEvent = fc.array(sseLine, { minLength: 1, maxLength: 4 }).map((lines) => lines.join("\n"))
const ndjsonLine = text.map((t) => JSON.stringify({ t }))

/** [from, to) ranges that cut `length` units at the given points. */
function ranges(length: number, points: number[]): [number, number][] {
  const at = [...new Set(points.map((p) => p % (length + 1)))].sort((a, b) => a - b)
  return [0, ...at].map((from, i, all) => [from, all[i + 1] ?? length])
}

/** Cut `bytes` at the given points (any byte, so inside characters and CR LF pairs too). */
const cut = (bytes: Uint8Array, points: number[]) => ranges(bytes.byteLength, points).map(([a, b]) => bytes.subarray(a, b))

/** Every event a reader yields for these chunks, then what it holds at the end. */
function readAll(framing: Framing, chunks: (Uint8Array | string)[]): { events: string[]; last: string } {
  const reader = new FrameReader(framing)
  const events: string[] = []
  for (const c of chunks) events.push(...reader.events(c))
  return { events, last: reader.end() }
}

const stream = (framing: Framing) =>
  fc.record({
    events: fc.array(framing === "sse" ? sseEvent : ndjsonLine, { maxLength: 8 }),
    eol: fc.constantFrom("\n", "\r\n", "\r"),
    /** The last event has no terminator (the body ended without one). */
    open: fc.boolean(),
  })

function wire(framing: Framing, s: { events: string[]; eol: string; open: boolean }): string {
  const sep = framing === "sse" ? "\n\n" : "\n"
  let body = s.events.map((e) => `${e}${sep}`).join("")
  if (s.open && s.events.length) body = body.slice(0, -sep.length)
  return body.replaceAll("\n", s.eol)
}

describe("the event-stream reader, for every way a stream is cut into chunks", () => {
  for (const framing of ["sse", "ndjson"] as const) {
    test(`${framing}: the same events as reading it whole, and the events written`, () => {
      fc.assert(
        fc.property(stream(framing), fc.array(fc.nat(), { maxLength: 16 }), (s, points) => {
          const bytes = enc.encode(wire(framing, s))
          const whole = readAll(framing, [bytes])
          expect(readAll(framing, cut(bytes, points))).toEqual(whole)
          // Decoded text read in pieces, a CR LF pair split included, reads the same.
          const str = wire(framing, s)
          const pieces = ranges(str.length, points).map(([a, b]) => str.slice(a, b))
          expect(readAll(framing, pieces)).toEqual(whole)
          const expected = s.open && s.events.length ? s.events.slice(0, -1) : s.events
          expect(whole.events).toEqual(expected)
          expect(whole.last).toBe(s.open && s.events.length ? s.events.at(-1)! : "")
        }),
        { numRuns: 300 }
      )
    })
  }

  test("the relay forwards the same bytes however they are cut, the backend's own chunk where nothing changed", () => {
    const chunk = text.map((t) => `data: ${JSON.stringify({ choices: [{ delta: { content: t } }] })}\n\n`)
    // A line no client knows (passed on as it is) may begin with a multi-byte character.
    const unknown = text.filter((t) => t.trim() !== "").map((t) => `${t}\n\n`)
    const chat = fc.array(fc.oneof(chunk, unknown), { maxLength: 8 })
    fc.assert(
      fc.property(chat, fc.array(fc.nat(), { maxLength: 16 }), (events, points) => {
        const bytes = enc.encode(`: keep-alive\n\n${events.join("")}`)
        const forward = (chunks: Uint8Array[]) => {
          const reader = createSseReader()
          const out: Uint8Array[] = []
          for (const c of chunks) {
            const o = reader.pushBytes(c)
            if (o) out.push(typeof o === "string" ? enc.encode(o) : o)
          }
          out.push(enc.encode(reader.finish()))
          return Buffer.concat(out).toString()
        }
        expect(forward(cut(bytes, points))).toBe(forward([bytes]))
        expect(forward([bytes])).toBe(`${new TextDecoder().decode(bytes)}data: [DONE]\n\n`)
      }),
      { numRuns: 300 }
    )
  })
})

describe("the fold of an OpenAI answer, for every way its stream is cut into chunks", () => {
  let vllm: VllmEmulator
  const canned: { name: string; body: Record<string, unknown> }[] = [
    { name: "text with reasoning", body: {} },
    { name: "tool calls", body: { tools: [{ type: "function", function: { name: "Bash", parameters: {} } }, { type: "function", function: { name: "Read", parameters: {} } }] } },
  ]
  const replies = new Map<string, { stream: Uint8Array; document: Record<string, unknown> }>()

  beforeAll(async () => {
    vllm = await startVllm({
      reply: "Grüße — 日本語 🎉 done.",
      reasoning: "Thinking… über 🤔",
      chunks: 4,
      toolCalls: [
        { name: "Bash", arguments: { command: "ls ~/é" } },
        { name: "Read", arguments: { path: "日本/🎉.txt" } },
      ],
    })
    const model = vllm.state.models[0]!.id
    for (const c of canned) {
      const ask = (stream: boolean) =>
        fetch(`${vllm.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], stream, ...(stream ? { stream_options: { include_usage: true } } : {}), ...c.body }),
        })
      const stream = new Uint8Array(await (await ask(true)).arrayBuffer())
      const document = (await (await ask(false)).json()) as Record<string, unknown>
      replies.set(c.name, { stream, document })
    }
  })
  afterAll(() => vllm?.stop())

  /** Ids the server makes anew for each request (the answer's, each tool call's). */
  const sameIds = (v: unknown): unknown => JSON.parse(JSON.stringify(v).replace(/"(chatcmpl-|call_)[0-9a-z]+"/g, '"$1x"'))

  const asBody = (chunks: Uint8Array[]) =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          for (const chunk of chunks) c.enqueue(chunk)
          c.close()
        },
      }),
      { headers: { "content-type": "text/event-stream; charset=utf-8" } }
    )
  const whole = async (answer: Response | { document: Record<string, unknown> }) => (await wholeResponse(answer, (a: Answer) => a, {}).json()) as Answer

  for (const c of canned) {
    test(`${c.name}: the document a non-streamed request gets, and the same whole answer for the dialects`, async () => {
      const { stream, document } = replies.get(c.name)!
      const fold = new OpenAIFold()
      fold.add(document)
      const expected = sameIds(foldedDocument(fold))
      const expectedAnswer = sameIds(await whole({ document }))
      expect(expected).toMatchObject({ choices: [{ finish_reason: c.name === "tool calls" ? "tool_calls" : "stop" }], usage: { completion_tokens: expect.any(Number) } })
      await fc.assert(
        fc.asyncProperty(fc.array(fc.nat(), { maxLength: 24 }), async (points) => {
          const chunks = cut(stream, points)
          const assembler = new StreamAssembler()
          for (const chunk of chunks) assembler.push(chunk)
          expect(sameIds(assembler.end())).toEqual(expected)
          expect(sameIds(await whole(asBody(chunks)))).toEqual(expectedAnswer)
        }),
        { numRuns: 200 }
      )
    })
  }
})
