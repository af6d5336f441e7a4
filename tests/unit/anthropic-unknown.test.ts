/**
 * For every field and block type Nexus does not know, an Anthropic request still decodes
 * (never a 400 from Nexus), the canonical request leaves it out, and the list of what was
 * left out names it.
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import { decodeMessages } from "../../src/ingress/anthropic/decode.ts"

const KNOWN_FIELDS = new Set(["model", "messages", "system", "max_tokens", "stream", "tools", "tool_choice", "stop_sequences", "temperature", "top_p", "top_k", "thinking", "output_config", "__proto__", "constructor"])
const KNOWN_BLOCKS = new Set(["text", "image", "tool_use", "tool_result"])
const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,15}$/)
const field = name.filter((k) => !KNOWN_FIELDS.has(k))
const blockType = name.filter((t) => !KNOWN_BLOCKS.has(t))
const block = fc.record({ type: blockType, payload: fc.jsonValue() })

test("unknown fields and block types are left out, named, never refused", () => {
  fc.assert(
    fc.property(fc.dictionary(field, fc.jsonValue(), { maxKeys: 4 }), fc.array(block, { minLength: 1, maxLength: 3 }), (fields, blocks) => {
      const body = { ...fields, model: "m", max_tokens: 10, messages: [{ role: "user", content: [...blocks, { type: "text", text: "hi" }] }, { role: "assistant", content: blocks }] }
      const decoded = decodeMessages(body)
      for (const k of Object.keys(fields)) {
        expect(decoded.canonical[k]).toBeUndefined()
        expect(decoded.dropped).toContain(k)
      }
      for (const b of blocks) expect(decoded.dropped).toContain(`${b.type} block`)
      expect(decoded.canonical.messages).toEqual([{ role: "user", content: "hi" }])
    }),
    { numRuns: 300 }
  )
})
