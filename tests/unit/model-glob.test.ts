/**
 * One rule for model globs: an API key's model list, a routing policy's `model_pattern`
 * and an alias glob name the same models, and no spelling of a model (case, `:latest`
 * in any case) changes what a glob says about it.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import type { RoutingConfig } from "../../src/config/types.ts"
import { aliasTarget, isGlob } from "../../src/core/aliases.ts"
import { keyAllows } from "../../src/policy/keys.ts"
import { policyFor } from "../../src/policy/rules.ts"

const BASES = ["llama3", "qwen2.5-coder", "hf.co/org/secret", "gpt-4o"] as const
const TAGS = ["", ":latest", ":LATEST", ":Latest", ":7b", ":7B"] as const

const recase = (s: string, mask: boolean[]) => [...s].map((c, i) => (mask[i % mask.length] ? c.toUpperCase() : c.toLowerCase())).join("")
const mask = fc.array(fc.boolean(), { minLength: 1, maxLength: 6 })

/** A model as some client spells it: its base and tag, each in any case. */
const spelling = fc.record({ base: fc.constantFrom(...BASES), tag: fc.constantFrom(...TAGS), a: mask, b: mask })
const spell = (s: { base: string; tag: string; a: boolean[]; b: boolean[] }) => recase(s.base, s.a) + recase(s.tag, s.b)
/** Which model a spelling means: `:latest` and case aside. */
const meaning = (s: { base: string; tag: string }) => `${s.base}${s.tag.toLowerCase() === ":latest" ? "" : s.tag.toLowerCase()}`

/** Globs as operators write them, from the same names. */
const glob = fc
  .record({ s: spelling, form: fc.constantFrom("exact", "star", "tag-star", "question", "prefix") })
  .map(({ s, form }) => {
    const name = spell(s)
    if (form === "star") return `${name}*`
    if (form === "tag-star") return `${recase(s.base, s.a)}:*`
    if (form === "question") return name.length > 2 ? `${name.slice(0, 1)}?${name.slice(2)}` : name
    if (form === "prefix") return `${name.slice(0, 3)}*`
    return name
  })

const policies = (pattern: string) => ({ policies: [{ model_pattern: pattern, privacy: "restricted" }] }) as unknown as RoutingConfig

describe("model globs", () => {
  test("a key's model list, a routing policy and an alias glob agree, for every glob and spelling", () => {
    fc.assert(
      fc.property(glob, spelling, (g, s) => {
        const name = spell(s)
        const key = keyAllows([g], name)
        expect(policyFor(policies(g), name) !== undefined).toBe(key)
        if (isGlob(g)) expect(aliasTarget({ [g]: "target" }, name) !== undefined).toBe(key)
      }),
      { numRuns: 500 },
    )
  })

  test("two spellings of one model get the same answer from every glob", () => {
    const twoSpellings = spelling.chain((s) => fc.record({ a: mask, b: mask, tag: fc.constantFrom(...TAGS) }).map((o) => [s, { ...s, ...o }] as const))
    fc.assert(
      fc.property(glob, twoSpellings, (g, [s1, s2]) => {
        fc.pre(meaning(s1) === meaning(s2))
        expect(keyAllows([g], spell(s2))).toBe(keyAllows([g], spell(s1)))
        expect(policyFor(policies(g), spell(s2)) !== undefined).toBe(policyFor(policies(g), spell(s1)) !== undefined)
      }),
      { numRuns: 500 },
    )
  })

  test("a glob still names only what it says", () => {
    expect(keyAllows(["llama3"], "llama3:7b")).toBe(false)
    expect(keyAllows(["llama3:latest"], "llama3:7b")).toBe(false)
    expect(keyAllows(["qwen*"], "llama3")).toBe(false)
    expect(keyAllows(["Llama3"], "LLAMA3:LATEST")).toBe(true)
    expect(aliasTarget({ "CLAUDE-*": "coder" }, "claude-opus-4-1")).toBe("coder")
  })
})
