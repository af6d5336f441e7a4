import { describe, expect, test } from "bun:test"
import { createState, prefillMs } from "../../emulators/common.ts"

const body = (messages: object[]) => JSON.stringify({ model: "m", messages })

describe("emulated prompt cache", () => {
  test("prefill time counts only the part of the prompt after the cached prefix, and the cache is bounded", () => {
    const state = createState({ prefixCache: { msPerKChars: 10, blockChars: 100, maxBlocks: 50 } }, ["m"])
    const turn1 = [{ role: "user", content: "x".repeat(2000) }]
    const cold = prefillMs(state.prefixCache, body(turn1))
    expect(cold).toBeGreaterThan(20)
    const turn2 = [...turn1, { role: "assistant", content: "ok" }, { role: "user", content: "more" }]
    const warm = prefillMs(state.prefixCache, body(turn2))
    expect(warm).toBeLessThan(3)
    expect(state.prefixCache!.hitBlocks).toBe(20)
    // Another server never saw it.
    const other = createState({ prefixCache: { msPerKChars: 10, blockChars: 100 } }, ["m"])
    expect(prefillMs(other.prefixCache, body(turn2))).toBeGreaterThan(20)
    // A different conversation evicts it from the bounded cache.
    prefillMs(state.prefixCache, body([{ role: "user", content: "y".repeat(6000) }]))
    expect(state.prefixCache!.blocks.size).toBe(50)
    expect(prefillMs(state.prefixCache, body(turn2))).toBeGreaterThan(20)
  })

  test("off unless asked for", () => {
    expect(prefillMs(createState({}, ["m"]).prefixCache, body([{ role: "user", content: "x".repeat(5000) }]))).toBe(0)
  })
})
