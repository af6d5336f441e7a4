/**
 * An Ollama client on an Ollama server: its bytes pass through untouched, and what the
 * server counted (`prompt_eval_count`, `eval_count`, on the last line of a stream or in
 * the one document) is what Nexus counts, as for every other dialect.
 */
import { describe, expect, test } from "bun:test"
import { startOllama } from "../../emulators/index.ts"
import { backend } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { until } from "../helpers/wait.ts"

const scope = testScope()

describe("an Ollama answer relayed untouched", () => {
  test.each([false, true])("stream=%p: the tokens counted are the ones the server reported", async (stream) => {
    const ollama = await scope.emulator(startOllama({ models: ["llama3:8b"] }))
    const n = await scope.nexus({ backends: [backend("ollama", ollama.url, "ollama")] })
    const counted = async (type: "prompt" | "completion") => {
      const text = await (await fetch(`${n.url}/metrics`)).text()
      return Number(new RegExp(`^nexus_tokens_total\\{[^}]*type="${type}"[^}]*\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0)
    }
    const res = await n.post("/api/chat", { model: "llama3:8b", stream, messages: [{ role: "user", content: "hello there" }] })
    expect(res.status).toBe(200)
    const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l))
    const last = lines.at(-1)
    expect(last.done).toBe(true)
    expect(last.eval_count).toBeGreaterThan(0)
    expect(await until(() => counted("completion"), (v) => v > 0, { what: "completion tokens counted" })).toBe(last.eval_count)
    expect(await counted("prompt")).toBe(last.prompt_eval_count)
  })
})
