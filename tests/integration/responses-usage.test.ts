/**
 * A Responses client on a server with its own Responses API: its bytes pass through
 * untouched, and what the server counted (`usage` of the response, in the stream's
 * `response.completed` event or in the one document) is what Nexus counts.
 */
import { describe, expect, test } from "bun:test"
import { startLlamacpp, startVllm } from "../../emulators/index.ts"
import { backend } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { until } from "../helpers/wait.ts"

const scope = testScope()

describe("a Responses answer relayed untouched", () => {
  test.each([false, true])("stream=%p: the tokens counted are the ones the server reported", async (stream) => {
    const vllm = await scope.emulator(startVllm({ models: ["qwen3:8b"] }))
    const n = await scope.nexus({ backends: [backend("vllm", vllm.url, "vllm")] })
    const counted = async (type: "prompt" | "completion") => {
      const text = await (await fetch(`${n.url}/metrics`)).text()
      return Number(new RegExp(`^nexus_tokens_total\\{[^}]*type="${type}"[^}]*\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0)
    }
    const res = await n.post("/v1/responses", { model: "qwen3:8b", stream, input: "hello there, how are you today?" })
    expect(res.status).toBe(200)
    const text = await res.text()
    const response = stream ? JSON.parse(text.split("\n").filter((l) => l.startsWith("data:")).at(-1)!.slice(5)).response : JSON.parse(text)
    expect(response.usage.output_tokens).toBeGreaterThan(0)
    expect(await until(() => counted("completion"), (v) => v > 0, { what: "completion tokens counted" })).toBe(response.usage.output_tokens)
    expect(await counted("prompt")).toBe(response.usage.input_tokens)
  })
})

describe("a Responses answer translated from Chat", () => {
  test.each([false, true])("stream=%p: the prompt tokens the server read from its cache are told as cached_tokens", async (stream) => {
    // llama.cpp reuses its slot's cache for a prompt that starts the same way, and says so.
    const llama = await scope.emulator(startLlamacpp({ models: ["qwen3:8b"] }))
    const n = await scope.nexus({ backends: [backend("llama", llama.url, "llamacpp")] })
    const ask = async () => {
      const res = await n.post("/v1/responses", { model: "qwen3:8b", stream, input: "a long question that stays the same from one turn to the next" })
      expect(res.status).toBe(200)
      const text = await res.text()
      return stream ? JSON.parse(text.split("\n").filter((l) => l.startsWith("data:")).at(-1)!.slice(5)).response.usage : JSON.parse(text).usage
    }
    const first = await ask()
    const second = await ask()
    expect(second.input_tokens_details.cached_tokens).toBeGreaterThan(first.input_tokens_details.cached_tokens)
    expect(second.input_tokens_details.cached_tokens).toBeLessThan(second.input_tokens)
  })
})
