import { describe, expect, test } from "bun:test"
import { resolveAlias } from "../../src/core/aliases.ts"

describe("alias globs", () => {
  const aliases = { "claude-haiku-4-5": "small", "claude-*": "coder", "claude-opus-*": "never", "gpt-5?": "five", "a.b": "dot" }
  test("exact keys before globs, then the first glob in order", () => {
    expect(resolveAlias(aliases, "claude-haiku-4-5")).toBe("small")
    expect(resolveAlias(aliases, "claude-opus-4-1")).toBe("coder")
    expect(resolveAlias(aliases, "gpt-51")).toBe("five")
    expect(resolveAlias(aliases, "gpt-5")).toBe("gpt-5")
  })
  test("glob metacharacters only: a dot is a dot", () => {
    expect(resolveAlias(aliases, "axb")).toBe("axb")
  })
  test("a served name is never taken by a glob", () => {
    expect(resolveAlias(aliases, "claude-local", (n) => n === "claude-local")).toBe("claude-local")
  })
})
