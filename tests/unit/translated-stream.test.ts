/**
 * A canonical stream relayed to a client of another dialect is read once, where it is
 * relayed: for every stream and every way the backend cuts it into chunks, the client
 * gets exactly what its dialect's encoder makes of the same stream read whole, and the
 * usage the relay counts is the usage the client was told.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { relayBody, type RelayEnd } from "../../src/egress/transport/relay.ts"
import { encodeMessages, translateMessages } from "../../src/ingress/anthropic/encode.ts"
import { encodeOllama, translateOllama } from "../../src/ingress/ollama/encode.ts"

interface Turn {
  text: string[]
  tool?: { name: string; args: string[] }
  finish: "stop" | "length" | "tool_calls"
  usage?: { prompt_tokens: number; completion_tokens: number }
}

const piece = fc.string({ minLength: 1, maxLength: 10, unit: "grapheme" })
const turn: fc.Arbitrary<Turn> = fc.record(
  {
    text: fc.array(piece, { maxLength: 5 }),
    tool: fc.record({ name: fc.constantFrom("read", "exec_command"), args: fc.array(piece, { maxLength: 3 }) }),
    finish: fc.constantFrom("stop" as const, "length" as const, "tool_calls" as const),
    usage: fc.record({ prompt_tokens: fc.nat(5000), completion_tokens: fc.nat(5000) }),
  },
  { requiredKeys: ["text", "finish"] }
)

/** The stream an OpenAI-compatible server sends for `t`. */
function sseOf(t: Turn): string {
  const head = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "m" }
  const chunk = (delta: object, finish: string | null = null) => ({ ...head, choices: [{ index: 0, delta, finish_reason: finish }] })
  const docs: object[] = t.text.map((text) => chunk({ content: text }))
  if (t.tool) {
    docs.push(chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: t.tool.name, arguments: "" } }] }))
    for (const a of t.tool.args) docs.push(chunk({ tool_calls: [{ index: 0, function: { arguments: a } }] }))
  }
  docs.push(chunk({}, t.finish))
  if (t.usage) docs.push({ ...head, choices: [], usage: { ...t.usage, total_tokens: t.usage.prompt_tokens + t.usage.completion_tokens } })
  return `${docs.map((d) => `data: ${JSON.stringify(d)}\n\n`).join("")}data: [DONE]\n\n`
}

/** The bytes of `text` cut at `cuts` (fractions of its length), as a body. */
function chunked(text: string, cuts: number[]): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  const at = [...new Set(cuts.map((c) => Math.floor(c * bytes.byteLength)))].sort((a, b) => a - b)
  const parts: Uint8Array[] = []
  let from = 0
  for (const to of [...at, bytes.byteLength]) {
    if (to > from) parts.push(bytes.subarray(from, to))
    from = Math.max(from, to)
  }
  return new ReadableStream({
    pull(c) {
      const next = parts.shift()
      if (next) c.enqueue(next)
      else c.close()
    },
  })
}

/** Message ids and timings are made anew for each answer. */
const stable = (text: string) =>
  text
    .replace(/msg_[0-9a-f]{24}/g, "msg_")
    .replace(/"created_at":"[^"]*"/g, '"created_at":""')
    .replace(/"(total_duration|eval_duration)":\d+/g, '"$1":0')

async function relayed(t: Turn, cuts: number[], translator: Parameters<typeof relayBody>[1]["translator"]): Promise<{ text: string; end: RelayEnd }> {
  let end: RelayEnd | undefined
  const body = relayBody(chunked(sseOf(t), cuts), { sse: true, translator, abort: () => {}, onEnd: (e) => (end = e), backendName: "b" })
  const text = await new Response(body).text()
  return { text, end: end! }
}

const sse = (t: Turn) => new Response(sseOf(t), { headers: { "content-type": "text/event-stream" } })
const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 })

describe("a translated stream read once where it is relayed", () => {
  test("Anthropic: the same events as the encoder reading it whole; the usage counted is the usage told", async () => {
    await fc.assert(
      fc.asyncProperty(turn, cutsArb, async (t, cuts) => {
        const ctx = { model: "m", promptTokens: 7, showReasoning: false }
        const { text, end } = await relayed(t, cuts, translateMessages(ctx))
        const whole = await encodeMessages(sse(t), { ...ctx, stream: true }).text()
        expect(stable(text)).toBe(stable(whole))
        expect(end.how).toBe("complete")
        expect(end.usage?.prompt_tokens).toBe(t.usage?.prompt_tokens)
        expect(end.usage?.completion_tokens).toBe(t.usage?.completion_tokens)
        const delta = text.split("\n").find((l) => l.includes('"message_delta"'))!
        expect(JSON.parse(delta.slice(6)).usage.output_tokens).toBe(t.usage?.completion_tokens ?? 0)
      }),
      { numRuns: 200 }
    )
  })

  test("Ollama: the same lines as the encoder reading it whole; the usage counted is the usage told", async () => {
    await fc.assert(
      fc.asyncProperty(turn, cutsArb, async (t, cuts) => {
        const { text, end } = await relayed(t, cuts, translateOllama("chat")({ model: "m" }))
        const whole = await encodeOllama("chat")(sse(t), { stream: true, model: "m" }).text()
        expect(stable(text)).toBe(stable(whole))
        expect(end.usage?.completion_tokens).toBe(t.usage?.completion_tokens)
        const last = JSON.parse(text.trim().split("\n").at(-1)!)
        expect(last.eval_count).toBe(t.usage?.completion_tokens ?? 0)
      }),
      { numRuns: 200 }
    )
  })
})
