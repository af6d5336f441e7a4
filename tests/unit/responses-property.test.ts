/**
 * The Responses translation for every answer and every conversation: a stream is well
 * formed and ends in the response the whole answer would have been (reasoning first);
 * continuing with previous_response_id (or naming earlier output with item_reference) is
 * the same request as sending the whole conversation; the store keeps exactly the newest `max_stored`.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { decodeResponses } from "../../src/ingress/responses/decode.ts"
import { encodeResponses } from "../../src/ingress/responses/encode.ts"
import type { ResponsesCarry } from "../../src/ingress/responses/conversation.ts"
import { openResponseStore } from "../../src/persist/responses.ts"
import { stateFile } from "../../src/persist/state-file.ts"

type Obj = Record<string, unknown>
interface Turn {
  reasoning: string[]
  text: string[]
  tools: { name: string; args: string }[]
}

const piece = fc.string({ minLength: 1, maxLength: 12 })
const turn: fc.Arbitrary<Turn> = fc.record({
  reasoning: fc.array(piece, { maxLength: 4 }),
  text: fc.array(piece, { maxLength: 4 }),
  tools: fc.array(fc.record({ name: fc.constantFrom("read", "exec_command"), args: fc.json({ maxDepth: 1 }) }), { maxLength: 2 }),
})

const usage = { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 }

/** The answer as an OpenAI chat completion document. */
function whole(t: Turn): Response {
  const message: Obj = { role: "assistant", content: t.text.join("") || null }
  if (t.reasoning.length) message.reasoning_content = t.reasoning.join("")
  if (t.tools.length) message.tool_calls = t.tools.map((c, i) => ({ id: `call_${i}`, type: "function", function: { name: c.name, arguments: c.args } }))
  const doc = { id: "c", object: "chat.completion", model: "m", choices: [{ index: 0, message, finish_reason: t.tools.length ? "tool_calls" : "stop" }], usage }
  return new Response(JSON.stringify(doc), { headers: { "content-type": "application/json" } })
}

/** The same answer as a chat completion stream. */
function streamed(t: Turn): Response {
  const chunk = (delta: Obj, finish: string | null = null) => `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
  let body = chunk({ role: "assistant", content: "" })
  for (const r of t.reasoning) body += chunk({ reasoning_content: r })
  for (const x of t.text) body += chunk({ content: x })
  t.tools.forEach((c, i) => {
    body += chunk({ tool_calls: [{ index: i, id: `call_${i}`, type: "function", function: { name: c.name, arguments: "" } }] })
    body += chunk({ tool_calls: [{ index: i, function: { arguments: c.args } }] })
  })
  body += chunk({}, t.tools.length ? "tool_calls" : "stop")
  body += `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", model: "m", choices: [], usage })}\n\ndata: [DONE]\n\n`
  return new Response(body, { headers: { "content-type": "text/event-stream" } })
}

/** Output items without the ids Nexus makes up for each. */
const anonymous = (items: Obj[]) => items.map(({ id: _id, ...rest }) => rest)

const carry = (summary: boolean): ResponsesCarry => ({ input: [], previousResponseId: null, summary })

describe("Responses encoding", () => {
  test("a stream is well formed and ends as the whole answer would be", async () => {
    await fc.assert(
      fc.asyncProperty(turn, fc.boolean(), async (t, summary) => {
        const text = await encodeResponses(streamed(t), { stream: true, model: "m", carry: carry(summary) }).text()
        const events = text.split("\n\n").filter(Boolean).map((e) => JSON.parse(e.slice(e.indexOf("data:") + 5)) as Obj & { type: string })
        expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
        expect(events[0]!.type).toBe("response.created")
        const last = events.at(-1)!
        expect(last.type).toBe("response.completed")
        const output = (last.response as { output: Obj[] }).output
        // Every item opened is closed as the final response has it, in order.
        const added = events.filter((e) => e.type === "response.output_item.added").map((e) => e.output_index)
        const done = events.filter((e) => e.type === "response.output_item.done")
        expect(added).toEqual(output.map((_, i) => i))
        expect(done.map((e) => e.item)).toEqual(output)
        const kinds = output.map((o) => o.type)
        expect(kinds).toEqual([...(t.reasoning.length ? ["reasoning"] : []), ...(t.text.length ? ["message"] : []), ...t.tools.map(() => "function_call")])
        const deltas = events.filter((e) => e.type === (summary ? "response.reasoning_summary_text.delta" : "response.reasoning_text.delta")).map((e) => e.delta)
        expect(deltas.join("")).toBe(t.reasoning.join(""))
        const whole_ = (await encodeResponses(whole(t), { stream: false, model: "m", carry: carry(summary) }).json()) as { output: Obj[] }
        expect(anonymous(whole_.output)).toEqual(anonymous(output))
      }),
      { numRuns: 200 }
    )
  })
})

describe("Responses conversations", () => {
  test("continuing with previous_response_id or item_reference is sending the whole conversation", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(piece, turn), { minLength: 1, maxLength: 4 }), piece, async (turns, last) => {
        const store = openResponseStore(stateFile(undefined), () => ({ maxStored: 100, maxAgeMs: 86_400_000 }))
        const history: unknown[] = []
        const referring: unknown[] = []
        let previous: string | undefined
        for (const [input, t] of turns) {
          const decoded = decodeResponses({ model: "m", input, previous_response_id: previous }, { responses: store })
          const r = (await encodeResponses(whole(t), { stream: false, model: "m", carry: decoded.carry }).json()) as { id: string; output: Obj[] }
          history.push({ type: "message", role: "user", content: input }, ...r.output)
          referring.push({ type: "message", role: "user", content: input }, ...r.output.map((o) => ({ type: "item_reference", id: o.id })))
          previous = r.id
        }
        const continued = decodeResponses({ model: "m", input: last, previous_response_id: previous }, { responses: store })
        const full = decodeResponses({ model: "m", input: [...history, { role: "user", content: last }] })
        expect(continued.native).toBe("never")
        expect(continued.canonical.messages).toEqual(full.canonical.messages)
        // The Vercel AI SDK's way: earlier output items named by item_reference.
        const references = decodeResponses({ model: "m", input: [...referring, { role: "user", content: last }] }, { responses: store })
        if (referring.some((i) => (i as Obj).type === "item_reference")) expect(references.native).toBe("never")
        expect(references.canonical.messages).toEqual(full.canonical.messages)
      }),
      { numRuns: 200 }
    )
  })

  test("the store keeps exactly the newest max_stored", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 25 }), (max, puts) => {
        const store = openResponseStore(stateFile(undefined), () => ({ maxStored: max, maxAgeMs: 86_400_000 }))
        for (let i = 0; i < puts; i++) store.put(`resp_${i}`, { input: [], response: { id: `resp_${i}` } })
        for (let i = 0; i < puts; i++) expect(store.get(`resp_${i}`) !== undefined).toBe(i >= puts - max)
      }),
      { numRuns: 200 }
    )
  })
})
