import { describe, expect, test } from "bun:test"
import { sessionKey } from "../../src/routing/session-key.ts"
import { createSessionTable } from "../../src/routing/sessions.ts"

describe("session table", () => {
  test("remembers, moves, expires idle sessions and forgets the least recently used past the bound", () => {
    let t = 0
    const table = createSessionTable({ maxEntries: 2, idleMs: 1000, now: () => t })
    table.set("a", "b1")
    table.set("b", "b2")
    expect(table.get("a")).toBe("b1") // a is now the most recent
    table.set("c", "b1")
    expect(table.get("b")).toBeUndefined()
    expect(table.size).toBe(2)
    table.set("a", "b2")
    expect(table.get("a")).toBe("b2")
    t = 999
    expect(table.get("c")).toBe("b1")
    t = 1998
    expect(table.get("a")).toBeUndefined()
    expect(table.get("c")).toBe("b1")
    table.forgetBackend("b1")
    expect(table.get("c")).toBeUndefined()
  })
})

test("a full table lets the least recently used go, however old their keys are", () => {
  let t = 0
  const table = createSessionTable({ maxEntries: 32, idleMs: 60_000, now: () => t })
  for (let i = 0; i < 32; i++) table.set(`s${i}`, "b1")
  // The first eight sessions are in use again: the next eight are now the least recent.
  for (let i = 0; i < 8; i++) expect(table.get(`s${i}`)).toBe("b1")
  table.set("new", "b2")
  expect(table.size).toBeLessThanOrEqual(32)
  expect(table.get("new")).toBe("b2")
  for (let i = 0; i < 8; i++) expect(table.get(`s${i}`)).toBe("b1")
  expect(table.get("s8")).toBeUndefined()
  expect(table.get("s31")).toBe("b1")
  // Idle sessions leave without being asked for: the table does not keep them forever.
  t = 60_000
  table.set("late", "b1")
  expect(table.size).toBe(1)
})

describe("session key", () => {
  const h = (o: Record<string, string> = {}) => new Headers(o)
  const canonical = (system: string, user: string, more: object[] = []) => ({ messages: [{ role: "system", content: system }, { role: "user", content: user }, ...more] })
  test("from what each client sends, the explicit header first", () => {
    expect(sessionKey(h({ "x-nexus-session": "n", "x-claude-code-session-id": "c" }), {}, {})).toBe("x-nexus-session:n")
    expect(sessionKey(h({ "x-claude-code-session-id": "c" }), {}, {})).toBe("x-claude-code-session-id:c")
    expect(sessionKey(h(), { metadata: { user_id: JSON.stringify({ device_id: "d", session_id: "s" }) } }, {})).toBe("claude:s")
    expect(sessionKey(h({ "session-id": "x" }), { prompt_cache_key: "p" }, {})).toBe("session-id:x")
    expect(sessionKey(h(), { prompt_cache_key: "p", user: "u" }, {})).toBe("prompt_cache_key:p")
    expect(sessionKey(h(), { user: "u" }, {})).toBe("user:u")
  })
  test("else the system prompt and first user message: every turn of a conversation agrees", () => {
    const sys = "You are a coding agent. ".repeat(60)
    const turn1 = sessionKey(h(), {}, canonical(sys, "task"))!
    const turn2 = sessionKey(h(), {}, canonical(sys, "task", [{ role: "assistant", content: "ok" }, { role: "user", content: "more" }]))
    expect(turn1).toStartWith("prompt:")
    expect(turn2).toBe(turn1)
    expect(sessionKey(h(), {}, canonical(sys, "other task"))).not.toBe(turn1)
    // A short prompt is cheap anywhere: no session, so one-off requests do not fill the table.
    expect(sessionKey(h(), {}, canonical("sys", "task"))).toBeUndefined()
    expect(sessionKey(h(), {}, { messages: [] })).toBeUndefined()
  })
})
