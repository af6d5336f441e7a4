/**
 * System turns inside an Anthropic conversation, decoded for servers that are not
 * Anthropic's: for every conversation, no system message but the first (strict chat
 * templates raise on one), no system text lost, no two user turns in a row, and each
 * turn's messages the previous turn's messages byte for byte plus what is new.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { templateRaises } from "../../emulators/generate.ts"
import { decodeMessages, systemNote } from "../../src/ingress/anthropic/decode.ts"

type Msg = { role: "user" | "assistant" | "system"; content: unknown }

const text = fc.string({ minLength: 1, maxLength: 12 })
const content = fc.oneof(text, fc.array(text.map((t) => ({ type: "text", text: t })), { minLength: 1, maxLength: 3 }))
let ids = 0
/** One step of a conversation after the first user turn. */
const say = (role: Msg["role"]) => content.map((c): Msg[] => [{ role, content: c }])
const step: fc.Arbitrary<Msg[]> = fc.oneof(
  say("user"),
  say("assistant"),
  say("system"),
  text.map((t): Msg[] => {
    const id = `toolu_${++ids}`
    return [
      { role: "assistant", content: [{ type: "tool_use", id, name: "Read", input: { p: t } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: id, content: t }] },
    ]
  })
)
const conversation = fc.tuple(content, fc.array(step, { maxLength: 8 })).map(([first, rest]) => [{ role: "user", content: first } as Msg, ...rest.flat()])

const decode = (messages: Msg[]) => decodeMessages({ model: "m", max_tokens: 10, system: "You are a coder.", messages }).canonical.messages as { role: string; content: unknown }[]
const systemText = (c: unknown) => (typeof c === "string" ? c : (c as { text: string }[]).map((b) => b.text).join("\n\n"))

describe("system turns for servers other than Anthropic", () => {
  test("strict templates accept every decoded conversation, and every system text is kept", () => {
    fc.assert(
      fc.property(conversation, (conv) => {
        const out = decode(conv)
        expect(out[0]).toEqual({ role: "system", content: "You are a coder." })
        expect(templateRaises({ messages: out })).toBe(false)
        for (let i = 1; i < out.length; i++) expect(out[i]!.role === "user" && out[i - 1]!.role === "user").toBe(false)
        const all = JSON.stringify(out)
        for (const m of conv) if (m.role === "system") expect(all).toContain(JSON.stringify(systemNote(systemText(m.content))).slice(1, -1))
      }),
      { numRuns: 300 }
    )
  })

  test("each turn's messages start with the previous turn's, byte for byte", () => {
    fc.assert(
      fc.property(conversation, (conv) => {
        const full = decode(conv)
        conv.forEach((m, k) => {
          // A turn ends where the model's reply begins.
          if (m.role !== "assistant") return
          const earlier = decode(conv.slice(0, k))
          expect(JSON.stringify(full.slice(0, earlier.length))).toBe(JSON.stringify(earlier))
        })
      }),
      { numRuns: 300 }
    )
  })

  test("a system turn before any user turn is refused, naming the message", () => {
    expect(() => decode([{ role: "system", content: "x" }, { role: "user", content: "hi" }])).toThrow(/messages\[0\]: a system message may only follow a user turn/)
    expect(() => decode([{ role: "user", content: "hi" }, { role: "tool" as never, content: "x" }])).toThrow(/messages\[1\]\.role must be "user", "assistant" or "system"/)
  })
})
