/**
 * The core proxy contract over real HTTP: bodies byte for byte, routing headers,
 * request ids, the Host Ollama accepts, and every error in the OpenAI envelope.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { hostname } from "node:os"
import { startLlamacpp, startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, chat, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { sseData } from "../helpers/sse.ts"

let nexus: TestNexus
let ollama: Emulator
let vllm: Emulator
let llama: Emulator
let down: Emulator

beforeAll(async () => {
  ollama = await startOllama({ models: ["llama3.2:latest"], chunks: 4 })
  vllm = await startVllm({ models: ["meta-llama/Llama-3.1-8B-Instruct"], chunks: 4 })
  llama = await startLlamacpp({ models: ["tiny"], nCtx: 64 })
  down = await startVllm({ models: ["lonely"] })
  nexus = await startNexus({
    server: { max_body_bytes: 4096 },
    routing: { aliases: { "gpt-4o": "gpt-4", "gpt-4": "llama", llama: "llama3.2:latest" } },
    backends: [
      backend("ollama", ollama.url, "ollama"),
      backend("vllm", vllm.url, "vllm"),
      backend("llama", llama.url, "llamacpp"),
      backend("down", down.url, "vllm"),
    ],
  })
  await down.stop()
  nexus.deps.registry.setStatus("down", "unhealthy", "connection refused")
})

afterAll(async () => {
  await nexus.stop(0)
  await Promise.all([ollama.stop(), vllm.stop(), llama.stop()])
})

const errorOf = async (res: Response) => ((await res.json()) as { error: Record<string, unknown>; context?: any })

describe("pass-through", () => {
  test("the request body reaches the backend byte for byte, unknown fields and number formats included", async () => {
    const raw = `{"temperature": 1.0,  "model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"hi"}],
      "tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"response_format":{"type":"json_object"},
      "stream_options":{"include_usage":true},"x_custom":{"deep":[1,2.50,"x"]},"n":1e0}`
    const res = await nexus.post("/v1/chat/completions", raw)
    expect(res.status).toBe(200)
    expect(vllm.stats.lastRequest!.body).toBe(raw)
  })

  test("an alias (three hops) rewrites only the model value", async () => {
    const raw = '{"model":"gpt-4o","messages":[{"role":"user","content":"model: gpt-4o"}],"top_p":0.90}'
    const res = await nexus.post("/v1/chat/completions", raw)
    expect(res.status).toBe(200)
    expect(ollama.stats.lastRequest!.body).toBe(raw.replace('"model":"gpt-4o"', '"model":"llama3.2:latest"'))
    expect(res.headers.get("x-nexus-model")).toBe("llama3.2:latest")
  })

  test("the response body is the backend's, unchanged", async () => {
    const direct = await fetch(`${vllm.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify(chat("meta-llama/Llama-3.1-8B-Instruct")) })
    const viaNexus = await nexus.post("/v1/chat/completions", chat("meta-llama/Llama-3.1-8B-Instruct"))
    const strip = (s: string) => s.replace(/chatcmpl-[0-9a-f]+/g, "ID")
    expect(strip(await viaNexus.text())).toBe(strip(await direct.text()))
    expect(viaNexus.headers.get("content-type")).toContain("application/json")
  })

  test("routing headers and request ids", async () => {
    const res = await nexus.post("/v1/chat/completions", chat("llama3.2:latest"), { "x-request-id": "my-trace-42" })
    expect(res.headers.get("x-nexus-backend")).toBe("ollama")
    expect(res.headers.get("x-nexus-backend-type")).toBe("local")
    expect(res.headers.get("x-nexus-route-reason")).toBe("only_candidate")
    expect(res.headers.get("x-nexus-model")).toBe("llama3.2:latest")
    expect(res.headers.get("x-request-id")).toBe("my-trace-42")
    expect(ollama.stats.lastRequest!.headers["x-request-id"]).toBe("my-trace-42")
    const generated = await nexus.post("/v1/chat/completions", chat("llama3.2:latest"))
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/)
  })

  test("Ollama gets a Host it accepts, whatever Host the client sent", async () => {
    const res = await fetch(`${nexus.url}/v1/chat/completions`, {
      method: "POST",
      // A name of this machine that Nexus answers to; Ollama itself answers only loopback names.
      headers: { host: `${hostname()}:${nexus.port}`, "content-type": "application/json" },
      body: JSON.stringify(chat("llama3.2:latest")),
    })
    expect(res.status).toBe(200)
    expect(ollama.stats.lastRequest!.headers.host).toMatch(/^127\.0\.0\.1:\d+$/)
  })

  test("streams: chunks in order, exactly one [DONE]", async () => {
    for (const model of ["llama3.2:latest", "meta-llama/Llama-3.1-8B-Instruct", "tiny"]) {
      const res = await nexus.post("/v1/chat/completions", chat(model, { stream: true }))
      expect(res.headers.get("content-type")).toContain("text/event-stream")
      const data = await sseData(res)
      expect(data.filter((d) => d === "[DONE]")).toHaveLength(1)
      expect(data.at(-1)).toBe("[DONE]")
      const text = data
        .slice(0, -1)
        .map((d) => JSON.parse(d).choices[0]?.delta?.content ?? "")
        .join("")
      expect(text).toBe("Hello! I am an emulated model, answering through Nexus.")
    }
  })
})

describe("errors, all in the OpenAI envelope", () => {
  test("invalid JSON is 400", async () => {
    const res = await nexus.post("/v1/chat/completions", "{not json")
    expect(res.status).toBe(400)
    const { error } = await errorOf(res)
    expect(error.code).toBe("invalid_json")
    expect(Object.keys(error).sort()).toEqual(["code", "message", "param", "type"])
  })

  test("missing model or messages is 400 naming the field", async () => {
    const noModel = await nexus.post("/v1/chat/completions", { messages: [] })
    expect(noModel.status).toBe(400)
    expect((await errorOf(noModel)).error.param).toBe("model")
    const noMessages = await nexus.post("/v1/chat/completions", { model: "llama3.2:latest" })
    expect(noMessages.status).toBe(400)
    expect((await errorOf(noMessages)).error.param).toBe("messages")
  })

  test("a body over the limit is 413, declared or chunked", async () => {
    const big = JSON.stringify(chat("llama3.2:latest", { pad: "x".repeat(5000) }))
    const declared = await nexus.post("/v1/chat/completions", big)
    expect(declared.status).toBe(413)
    expect((await errorOf(declared)).error.code).toBe("request_too_large")
    const bytes = new TextEncoder().encode(big)
    const chunked = await fetch(`${nexus.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < bytes.length; i += 1000) c.enqueue(bytes.slice(i, i + 1000))
          c.close()
        },
      }),
    })
    expect(chunked.status).toBe(413)
  })

  test("an unknown route is 404", async () => {
    const res = await nexus.get("/v2/whatever")
    expect(res.status).toBe(404)
    expect((await errorOf(res)).error.code).toBe("unknown_route")
  })

  test("an unknown model is 404 model_not_found listing the available models", async () => {
    const res = await nexus.post("/v1/chat/completions", chat("gpt-7"))
    expect(res.status).toBe(404)
    const { error } = await errorOf(res)
    expect(error.code).toBe("model_not_found")
    expect(error.param).toBe("model")
    expect(error.message).toContain("llama3.2:latest")
  })

  test("a known model with no healthy backend is 503 with each backend's reason", async () => {
    const res = await nexus.post("/v1/chat/completions", chat("lonely"))
    expect(res.status).toBe(503)
    const body = await errorOf(res)
    expect(body.context.backends).toEqual([{ backend: "down", model: "lonely", reason: "unhealthy: connection refused" }])
    expect(res.headers.get("x-nexus-rejection-reasons")).toBe("down: unhealthy: connection refused")
  })

  test("an upstream 4xx keeps its status and message", async () => {
    vllm.faults.status = 400
    try {
      const res = await nexus.post("/v1/chat/completions", chat("meta-llama/Llama-3.1-8B-Instruct"))
      expect(res.status).toBe(400)
      expect((await errorOf(res)).error.message).toBe("Emulated failure 400")
    } finally {
      vllm.faults.status = undefined
    }
  })

  test("a prompt larger than the model's context (learned from /props) is refused with the reason", async () => {
    const before = llama.stats.byPath["/v1/chat/completions"] ?? 0
    const res = await nexus.post("/v1/chat/completions", chat("tiny", { messages: [{ role: "user", content: "x".repeat(400) }] }))
    // No retry can make the model bigger: a 400 the SDKs do not retry, with the reason.
    expect(res.status).toBe(400)
    const body = await errorOf(res)
    expect(body.error.code).toBe("context_length_exceeded")
    // Counted by llama.cpp itself (its template and tokenizer) once the estimate refused it.
    const counted = Number(/resulted in ~(\d+) tokens/.exec(String(body.error.message))?.[1])
    expect(counted).toBeGreaterThan(100)
    expect(body.error.message).toStartWith(`This model's maximum context length is 64 tokens. However, your messages resulted in ~${counted} tokens.`)
    expect(body.context.backends[0].reason).toBe(`context too small: request needs ~${counted} tokens, model has 64`)
    expect(llama.stats.byPath["/tokenize"] ?? 0).toBeGreaterThan(0)
    expect(llama.stats.byPath["/v1/chat/completions"] ?? 0).toBe(before)
  })

  test("an upstream 5xx on every backend is 502 naming them", async () => {
    llama.faults.status = 500
    try {
      const res = await nexus.post("/v1/chat/completions", chat("tiny"))
      expect(res.status).toBe(502)
      expect((await errorOf(res)).error.message).toContain("llama: emulated failure 500")
    } finally {
      llama.faults.status = undefined
    }
  })
})
