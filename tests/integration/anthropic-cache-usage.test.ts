/**
 * An Anthropic backend's prompt cache in what Nexus counts: `input_tokens` leaves out the
 * cached prefix (written or read), so the prompt Nexus records is the sum of all three,
 * on relayed answers whole or streamed; the output is the last count reported (a
 * stream's message_delta).
 */
import { describe, expect, test } from "bun:test"
import { startAnthropic } from "../../emulators/index.ts"
import { backend } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { until } from "../helpers/wait.ts"

const MODEL = "claude-sonnet-4-5"
const HEADERS = { "anthropic-version": "2023-06-01" }
const scope = testScope()
// Over the 1024 tokens the API needs before it caches a prefix.
const LONG = "The repository's conventions, repeated so the prefix is worth caching. ".repeat(80)

type AnthropicUsage = { input_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number; output_tokens: number }
const whole = (u: AnthropicUsage) => u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens

async function setup() {
  const claude = await scope.emulator(startAnthropic({ models: [MODEL] }))
  const n = await scope.nexus({ backends: [backend("claude", claude.url, "anthropic", { api_key_env: "CACHE_TEST_KEY" })] }, { env: { CACHE_TEST_KEY: "sk-ant-cache" } })
  const counted = async (type: "prompt" | "completion") => {
    const text = await (await fetch(`${n.url}/metrics`)).text()
    return Number(new RegExp(`^nexus_tokens_total\\{[^}]*type="${type}"[^}]*\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0)
  }
  return { n, counted }
}

const cached = (stream: boolean, question: string) => ({
  model: MODEL,
  max_tokens: 50,
  stream,
  messages: [
    { role: "user", content: [{ type: "text", text: LONG, cache_control: { type: "ephemeral" } }] },
    { role: "assistant", content: "Understood." },
    { role: "user", content: question },
  ],
})

describe("an Anthropic client, relayed", () => {
  test.each([false, true])("stream=%p: the prompt counted is input plus cache writes plus cache reads; output as last reported", async (stream) => {
    const { n, counted } = await setup()
    const seen: AnthropicUsage[] = []
    let output = 0
    for (const question of ["first?", "second?"]) {
      const res = await n.post("/v1/messages", cached(stream, question), HEADERS)
      expect(res.status).toBe(200)
      if (stream) {
        const events = (await res.text()).split("\n").filter((l) => l.startsWith("data:")).map((l) => JSON.parse(l.slice(5)))
        seen.push(events.find((e) => e.type === "message_start").message.usage)
        output += events.find((e) => e.type === "message_delta").usage.output_tokens
      } else {
        const usage = ((await res.json()) as { usage: AnthropicUsage }).usage
        seen.push(usage)
        output += usage.output_tokens
      }
    }
    // The backend wrote the prefix once and read it the second time.
    expect(seen[0]!.cache_creation_input_tokens).toBeGreaterThan(1000)
    expect(seen[1]!.cache_read_input_tokens).toBe(seen[0]!.cache_creation_input_tokens)
    const expected = whole(seen[0]!) + whole(seen[1]!)
    expect(await until(() => counted("prompt"), (v) => v >= expected, { what: "prompt tokens counted" })).toBe(expected)
    expect(await counted("completion")).toBe(output)
  })
})
