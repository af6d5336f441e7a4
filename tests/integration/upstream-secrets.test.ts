/**
 * A backend that quotes our key in an error inside a stream (`invalid header "Bearer
 * sk-…"`) must not hand it on: not to the client in any dialect, not to the log, not to
 * `/v1/events`, not to the dashboard. The emulators play a cloud API that echoes the
 * credential it was sent in its mid-stream error event.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import fc from "fast-check"
import { startAnthropic, startOllama, startOpenai, type Emulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { eventually } from "../helpers/wait.ts"

let oai: Emulator
let anth: Emulator
let olla: Emulator
const all = () => [oai, anth, olla]
beforeAll(async () => {
  oai = await startOpenai()
  anth = await startAnthropic()
  // Ollama behind an authenticating proxy (or ollama.com): its native stream is JSON lines.
  olla = await startOllama()
  for (const e of all()) e.faults.echoKeyInError = true
})
afterAll(async () => {
  await Promise.all(all().map((e) => e.stop()))
})

const MODELS = ["gpt-4o-mini", "claude-sonnet-4-5-20250929", "llama3.2:latest"]
const messages = [{ role: "user", content: "Say hello" }]

/** One request per client dialect, streaming or not. */
const REQUESTS = (model: string, stream: boolean): [string, unknown][] => [
  ["/v1/chat/completions", { model, messages, stream }],
  ["/v1/messages", { model, max_tokens: 64, messages, stream }],
  ["/api/chat", { model, messages, stream }],
  ["/v1/responses", { model, input: "Say hello", stream }],
]

async function gateway(secret: string): Promise<TestNexus> {
  return startNexus(
    {
      backends: [
        backend("oai", oai.url, "openai", { api_key_env: "K_OPENAI", models: [] }),
        backend("claude", anth.url, "anthropic", { api_key_env: "K_ANTHROPIC", models: [] }),
        backend("ollama", olla.url, "ollama", { api_key_env: "K_OLLAMA", models: [] }),
      ],
    },
    { env: { K_OPENAI: secret, K_ANTHROPIC: secret, K_OLLAMA: secret } }
  )
}

/** Everything the gateway says about requests while `run` goes: answers, `/v1/events`, the dashboard, the log. */
async function everythingSaid(n: TestNexus, run: () => Promise<string[]>, requests: number): Promise<string> {
  const events = await fetch(`${n.url}/v1/events`)
  const reader = events.body!.getReader()
  const decoder = new TextDecoder()
  let stream = ""
  const reading = (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }))
      if (done) return
      stream += decoder.decode(value, { stream: true })
    }
  })()
  const answers = await run()
  await eventually(() => stream.split("event: request").length - 1 >= requests, 10_000, "every request on /v1/events")
  await reader.cancel()
  await reading
  const dashboard = await (await fetch(`${n.url}/dashboard/state`)).text()
  return [...answers, stream, dashboard, JSON.stringify(n.logs)].join("\n")
}

async function answers(n: TestNexus, list: [string, unknown][]): Promise<string[]> {
  const out: string[] = []
  for (const [path, body] of list) {
    const res = await n.post(path, body)
    out.push(`${res.status} ${[...res.headers].join(" ")} ${await res.text()}`)
  }
  return out
}

test("an echoed key in a mid-stream error is redacted in every dialect, from every provider", async () => {
  const secret = `sk-proj-${crypto.randomUUID()}`
  const n = await gateway(secret)
  try {
    for (const e of all()) e.faults.midStreamError = 1
    const list = MODELS.flatMap((m) => REQUESTS(m, true))
    const said = await everythingSaid(n, () => answers(n, list), list.length)
    expect(said).not.toContain(secret)
    // The error itself still reaches the client, with the key taken out.
    expect(said).toContain("[redacted]")
    expect(said).toContain('invalid authorization header \\"Bearer [redacted]\\"')
  } finally {
    await n.stop(0)
  }
})

// Keys as providers issue them: a prefix, then base64url-ish characters.
const secretArb = fc
  .tuple(fc.constantFrom("sk-", "sk-proj-", "sk-ant-api03-", "AIza", ""), fc.string({ unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), minLength: 6, maxLength: 80 }))
  .map(([prefix, body]) => prefix + body)

test("for every key, error position and dialect, the key never leaves Nexus", async () => {
  await fc.assert(
    fc.asyncProperty(secretArb, fc.integer({ min: 0, max: 3 }), fc.boolean(), async (secret, at, stream) => {
      const n = await gateway(secret)
      try {
        for (const e of all()) e.faults.midStreamError = at
        const list = MODELS.flatMap((m) => REQUESTS(m, stream))
        const said = await everythingSaid(n, () => answers(n, list), list.length)
        expect(said.includes(secret)).toBe(false)
        // A stream's error still reaches the client, with the key taken out (not dropped whole).
        if (stream) expect(said).toContain("[redacted]")
      } finally {
        await n.stop(0)
      }
    }),
    // Each run is a gateway and twelve requests through it: 480 requests in all.
    { numRuns: 40 }
  )
}, 120_000)
