/**
 * Every backend type through a real Nexus: what each adapter learns from its server
 * (models, context length, tri-state capabilities, loading and warm state), each
 * server's streaming quirks turned into one well-formed OpenAI stream, fingerprinting
 * of every type (three of them on port 8080 of different hosts), and per-model config
 * overrides.
 */
import { describe, expect, test } from "bun:test"
import OpenAI from "openai"
import { fingerprint, identify } from "../../src/discovery/fingerprint.ts"
import { probeOnce } from "../../src/discovery/probe.ts"
import type { BackendType } from "../../src/config/types.ts"
import {
  startExo,
  startLlamacpp,
  startLlamafile,
  startLmstudio,
  startLocalai,
  startOllama,
  startOpenai,
  startVllm,
  type Emulator,
} from "../../emulators/index.ts"
import { backend, chat, type TestNexus } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { readEvents } from "../helpers/sse.ts"

const { emulator: emu, nexus, defer } = testScope()
const model = (n: TestNexus, backendId: string, id: string) => n.deps.registry.get(backendId)?.models.get(id)

/** A streamed chat through `n`: the response, the whole text, its events and data payloads. */
async function stream(n: TestNexus, body: Record<string, unknown>) {
  const res = await n.post("/v1/chat/completions", { ...body, stream: true })
  return { res, ...(await readEvents(res)) }
}

describe("what each adapter learns from its server", () => {
  test("LM Studio: type, load state, context and tools from /api/v0/models", async () => {
    const lms = await emu(
      startLmstudio({
        models: [
          { id: "qwen/qwen2.5-vl-7b", contextLength: 32768, capabilities: ["vision", "tool_use"], loaded: true },
          { id: "text-embedding-nomic", capabilities: ["embeddings"], loaded: false },
        ],
      })
    )
    const n = await nexus({ backends: [backend("lms", lms.url, "lmstudio")] })
    expect(n.deps.registry.get("lms")?.status).toBe("healthy")
    const vl = model(n, "lms", "qwen/qwen2.5-vl-7b")!
    expect(vl.capabilities).toMatchObject({ vision: true, tools: true, embeddings: false })
    expect(vl.loaded).toBe(true)
    expect(vl.contextLength).toBeGreaterThan(0)
    const embed = model(n, "lms", "text-embedding-nomic")!
    expect(embed.capabilities).toMatchObject({ embeddings: true, completion: false })
    expect(embed.loaded).toBe(false)
  })

  test("LM Studio 0.4+: /api/v1/models (capabilities object, loaded instances), same facts", async () => {
    const lms = await emu(
      startLmstudio({
        version: "0.4.1",
        models: [
          { id: "google/gemma-3-12b", contextLength: 131072, capabilities: ["vision", "tool_use"], loaded: true },
          { id: "qwen/qwen3-4b", contextLength: 32768, capabilities: [], loaded: false },
        ],
      })
    )
    const n = await nexus({ backends: [backend("lms", lms.url, "lmstudio")] })
    expect(lms.stats.byPath["/api/v1/models"]).toBeGreaterThan(0)
    expect(model(n, "lms", "google/gemma-3-12b")).toMatchObject({ loaded: true, capabilities: { vision: true, tools: true, completion: true } })
    expect(model(n, "lms", "qwen/qwen3-4b")).toMatchObject({ loaded: false, contextLength: 32768, capabilities: { vision: false, tools: false } })
  })

  test("exo: only models with a running instance are offered; one placed later appears at the next probe", async () => {
    const exo = await emu(
      startExo({
        models: [
          { id: "mlx-community/Llama-3.2-3B-Instruct-4bit", contextLength: 131072, capabilities: ["text"], loaded: true },
          { id: "mlx-community/Qwen2.5-VL-7B-4bit", contextLength: 32768, capabilities: ["text", "vision"], loaded: false },
        ],
      })
    )
    const n = await nexus({ backends: [backend("exo", exo.url, "exo")] })
    const b = n.deps.registry.get("exo")!
    expect([...b.models.keys()]).toEqual(["mlx-community/Llama-3.2-3B-Instruct-4bit"])
    expect(b.models.get("mlx-community/Llama-3.2-3B-Instruct-4bit")).toMatchObject({ contextLength: 131072, loaded: true, capabilities: { completion: true, vision: false } })
    // Asking for the unplaced one is a clear 404 from Nexus, not exo's "No instance found".
    const miss = await n.post("/v1/chat/completions", chat("mlx-community/Qwen2.5-VL-7B-4bit"))
    expect(miss.status).toBe(404)
    ;(exo as Awaited<ReturnType<typeof startExo>>).placeInstance("mlx-community/Qwen2.5-VL-7B-4bit")
    await n.deps.health.checkAll()
    expect(model(n, "exo", "mlx-community/Qwen2.5-VL-7B-4bit")?.capabilities.vision).toBe(true)
  })

  test("LocalAI: loading while /readyz is 503, then capabilities from /v1/models/capabilities and load state from /system", async () => {
    const local = await emu(startLocalai({ loading: true, models: [{ id: "qwen3-8b", capabilities: ["chat", "tools"] }, { id: "bert-embeddings", capabilities: ["embeddings"], loaded: false }] }))
    const n = await nexus({ backends: [backend("local", local.url, "localai")] })
    expect(n.deps.registry.get("local")?.status).toBe("loading")
    ;(local as Awaited<ReturnType<typeof startLocalai>>).finishLoading()
    await n.deps.health.checkAll()
    expect(n.deps.registry.get("local")?.status).toBe("healthy")
    expect(model(n, "local", "qwen3-8b")?.capabilities).toMatchObject({ tools: true, embeddings: false, completion: true })
    expect(model(n, "local", "bert-embeddings")?.capabilities).toMatchObject({ embeddings: true, completion: false })
    // /system says which are in memory.
    expect([model(n, "local", "qwen3-8b")?.loaded, model(n, "local", "bert-embeddings")?.loaded]).toEqual([true, false])
  })

  test("llamafile: the legacy server's 503 while loading is 'loading'; the v2 server's missing /health is fine", async () => {
    const legacy = await emu(startLlamafile({ legacy: true, loading: true, models: ["LLaMA_CPP"] }))
    const v2 = await emu(startLlamafile({ models: ["mistral-7b-instruct"] }))
    const n = await nexus({ backends: [backend("old", legacy.url, "llamafile"), backend("new", v2.url, "llamafile")] })
    expect(n.deps.registry.get("old")?.status).toBe("loading")
    expect(n.deps.registry.get("new")?.status).toBe("healthy")
    ;(legacy as Awaited<ReturnType<typeof startLlamafile>>).finishLoading()
    await n.deps.health.checkAll()
    expect(n.deps.registry.get("old")?.status).toBe("healthy")
  })

  test("OpenAI: the key comes from the environment; a wrong key is an unhealthy backend with the reason", async () => {
    const cloud = await emu(startOpenai({ apiKey: "sk-test-1234" }))
    const n = await nexus(
      { backends: [backend("cloud", cloud.url, "openai", { api_key_env: "TEST_OPENAI_KEY" }), backend("wrong", cloud.url + "/", "openai", { api_key_env: "TEST_WRONG_KEY" })] },
      { env: { TEST_OPENAI_KEY: "sk-test-1234", TEST_WRONG_KEY: "sk-nope-0000" } }
    )
    expect(n.deps.registry.get("cloud")?.status).toBe("healthy")
    expect([...n.deps.registry.get("cloud")!.models.keys()]).toContain("gpt-4o-mini")
    const wrong = n.deps.registry.get("wrong")!
    expect(wrong.status).toBe("unhealthy")
    expect(wrong.lastError).toContain("401")
  })

  test("unknown capabilities never block; config overrides beat what the server says", async () => {
    const vllm = await emu(startVllm({ models: [{ id: "qwen2.5-7b", contextLength: 32768 }] }))
    const ollama = await emu(startOllama({ models: [{ id: "llava:7b", capabilities: ["completion"], contextLength: 4096 }] }))
    const n = await nexus({
      backends: [
        backend("v", vllm.url, "vllm"),
        backend("o", ollama.url, "ollama", { models: [{ name: "llava:7b", vision: true, tools: true, context_length: 16384 }] }),
      ],
    })
    const image = { role: "user", content: [{ type: "text", text: "what is this" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }] }
    // vLLM says nothing about vision: unknown, so the request goes through.
    const unknown = await n.post("/v1/chat/completions", { model: "qwen2.5-7b", messages: [image] })
    expect(unknown.status).toBe(200)
    // Ollama says llava has no vision; the config says it has: the config wins.
    expect(model(n, "o", "llava:7b")).toMatchObject({ contextLength: 16384, capabilities: { vision: true, tools: true } })
    expect((await n.post("/v1/chat/completions", { model: "llava:7b", messages: [image] })).status).toBe(200)
  })

  test("Ollama: tools as /api/show lists them; a request with one tool goes only where tools are", async () => {
    const ollama = await emu(startOllama({ models: [{ id: "qwen3:8b", capabilities: ["completion", "tools"] }, { id: "gemma:2b", capabilities: ["completion"] }] }))
    const n = await nexus({ backends: [backend("o", ollama.url, "ollama")] })
    expect(model(n, "o", "qwen3:8b")?.capabilities).toMatchObject({ tools: true, vision: false })
    expect(model(n, "o", "gemma:2b")?.capabilities).toMatchObject({ tools: false })
    const tools = [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: {} } } }]
    const messages = [{ role: "user", content: "look it up" }]
    expect((await n.post("/v1/chat/completions", { model: "qwen3:8b", messages, tools })).status).toBe(200)
    const refused = await n.post("/v1/chat/completions", { model: "gemma:2b", messages, tools })
    expect(refused.status).toBe(400)
    expect(await refused.text()).toContain("model lacks tool calling")
  })

  test("warm state: Ollama's /api/ps is recorded per model and shown by /v1/models", async () => {
    const ollama = await emu(startOllama({ models: [{ id: "llama3.2:3b", loaded: true }, { id: "qwen2.5:14b", loaded: false }] }))
    const n = await nexus({ backends: [backend("o", ollama.url, "ollama")] })
    expect(model(n, "o", "llama3.2:3b")).toMatchObject({ loaded: true, vramBytes: 3825819519 })
    expect(model(n, "o", "qwen2.5:14b")).toMatchObject({ loaded: false, vramBytes: undefined })
    const { data } = (await (await n.get("/v1/models")).json()) as { data: { id: string; loaded: boolean | null }[] }
    expect(Object.fromEntries(data.map((m) => [m.id, m.loaded]))).toEqual({ "llama3.2:3b": true, "qwen2.5:14b": false })
  })
})

describe("whatever the backend streams, the client gets one well-formed OpenAI stream", () => {
  test("exo: keep-alive comments pass, chunks relabelled chat.completion.chunk, one [DONE]", async () => {
    const exo = await emu(startExo({ models: [{ id: "llama-3.2-3b", loaded: true }], keepAlives: 2 }))
    const n = await nexus({ backends: [backend("exo", exo.url, "exo")] })
    const s = await stream(n, chat("llama-3.2-3b"))
    expect(s.res.status).toBe(200)
    expect(s.events.filter((e) => e.startsWith(":")).length).toBeGreaterThanOrEqual(2)
    const chunks = s.data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d))
    expect(chunks.length).toBeGreaterThan(0)
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true)
    expect(s.done).toBe(1)
    expect(s.text.trimEnd().endsWith("data: [DONE]")).toBe(true)
  })

  test("llamafile legacy: a stream without [DONE] gets exactly one; its `error:` field becomes a data error event", async () => {
    const legacy = await emu(startLlamafile({ legacy: true, models: ["LLaMA_CPP"], chunks: 6 }))
    const n = await nexus({ backends: [backend("lf", legacy.url, "llamafile")] })
    const ok = await stream(n, chat("LLaMA_CPP"))
    expect(ok.done).toBe(1)
    expect(ok.text.trimEnd().endsWith("data: [DONE]")).toBe(true)

    legacy.faults.midStreamError = 2
    const broken = await stream(n, chat("LLaMA_CPP"))
    expect(broken.text).not.toMatch(/^error:/m)
    const err = broken.data.map((d) => (d === "[DONE]" ? undefined : JSON.parse(d))).find((d) => d?.error)
    expect(err.error.message).toContain("llama_decode failed")
    expect(broken.done).toBe(1)
  })

  test("llamafile v2 and LM Studio: relabelled chunks, string errors made OpenAI-shaped", async () => {
    const v2 = await emu(startLlamafile({ models: ["mistral-7b-instruct"] }))
    const oldLms = await emu(startLmstudio({ version: "0.3.9", models: [{ id: "qwen3-4b", loaded: true }] }))
    const n = await nexus({ backends: [backend("v2", v2.url, "llamafile"), backend("lms", oldLms.url, "lmstudio")] })
    const s = await stream(n, chat("mistral-7b-instruct"))
    const chunks = s.data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d))
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true)
    expect(s.done).toBe(1)

    oldLms.faults.midStreamError = 1
    const lms = await stream(n, chat("qwen3-4b"))
    const err = lms.data.map((d) => (d === "[DONE]" ? undefined : JSON.parse(d))).find((d) => d?.error)
    expect(err.error).toMatchObject({ message: "Emulated model crash", type: "upstream_error" })
    expect(lms.done).toBe(1)
  })

  test("the openai SDK reads every server type's stream to the end", async () => {
    const servers: [string, BackendType, Emulator, string][] = [
      ["ollama", "ollama", await emu(startOllama({ models: ["m-ollama"] })), "m-ollama"],
      ["vllm", "vllm", await emu(startVllm({ models: ["m-vllm"] })), "m-vllm"],
      ["llamacpp", "llamacpp", await emu(startLlamacpp({ models: ["m-llamacpp"] })), "m-llamacpp"],
      ["lmstudio", "lmstudio", await emu(startLmstudio({ models: [{ id: "m-lmstudio", loaded: true }] })), "m-lmstudio"],
      ["exo", "exo", await emu(startExo({ models: [{ id: "m-exo", loaded: true }] })), "m-exo"],
      ["localai", "localai", await emu(startLocalai({ models: ["m-localai"] })), "m-localai"],
      ["llamafile", "llamafile", await emu(startLlamafile({ legacy: true, models: ["m-llamafile"] })), "m-llamafile"],
      ["openai", "openai", await emu(startOpenai({ models: ["m-openai"] })), "m-openai"],
    ]
    const n = await nexus({ backends: servers.map(([name, type, e]) => backend(name, e.url, type)) })
    const client = new OpenAI({ baseURL: `${n.url}/v1`, apiKey: "unused", maxRetries: 0 })
    for (const [name, , , id] of servers) {
      let text = ""
      let finish: string | null | undefined
      for await (const chunk of await client.chat.completions.create({ model: id, stream: true, messages: [{ role: "user", content: "hi" }] })) {
        text += chunk.choices[0]?.delta?.content ?? ""
        finish ??= chunk.choices[0]?.finish_reason
      }
      expect({ name, text: text.length > 0, finish }).toEqual({ name, text: true, finish: "stop" })
    }
  })
})

describe("fingerprinting", () => {
  test("every server type is identified from its answers", async () => {
    const cases: [BackendType, Emulator][] = [
      ["ollama", await emu(startOllama())],
      ["ollama", await emu(startOllama({ models: [] }))], // "data": null on /v1/models
      ["vllm", await emu(startVllm())],
      ["llamacpp", await emu(startLlamacpp())],
      ["lmstudio", await emu(startLmstudio())],
      ["exo", await emu(startExo())],
      ["localai", await emu(startLocalai())],
      ["llamafile", await emu(startLlamafile({ legacy: true }))],
      ["llamafile", await emu(startLlamafile())],
      ["openai", await emu(startOpenai({ apiKey: "sk-needed" }))],
    ]
    const got = await Promise.all(cases.map(([, e]) => fingerprint(e.url)))
    expect(got).toEqual(cases.map(([t]) => t))
  })

  test("the three servers that default to port 8080 are told apart on three hosts", async () => {
    // Every 127.x address is loopback on Linux, so each server gets its own port 8080.
    const on8080 = (start: (o: { hostname: string; port: number }) => Promise<Emulator>, hostname: string) => emu(start({ hostname, port: 8080 }))
    const servers = [
      ["llamacpp", await on8080(startLlamacpp, "127.0.0.2")],
      ["localai", await on8080(startLocalai, "127.0.0.3")],
      ["llamafile", await on8080((o) => startLlamafile({ ...o, legacy: true }), "127.0.0.4")],
    ] as const
    for (const [type, e] of servers) {
      expect(e.url).toEndWith(":8080")
      expect(await fingerprint(e.url)).toBe(type)
    }
  })

  test("vLLM behind a proxy that forwards only /v1/ is known by its models' owned_by", async () => {
    // nginx `location /v1/ { proxy_pass ... }`: /version and / are the proxy's 404s.
    const vllm = await emu(startVllm())
    const proxy = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) => {
        const url = new URL(req.url)
        if (!url.pathname.startsWith("/v1/")) return new Response("<html>404 Not Found</html>", { status: 404, headers: { "content-type": "text/html", server: "nginx" } })
        return fetch(`${vllm.url}${url.pathname}${url.search}`, { method: req.method, headers: req.headers, body: req.body })
      },
    })
    defer(async () => proxy.stop(true))
    expect(await fingerprint(`http://127.0.0.1:${proxy.port}`)).toBe("vllm")
  })

  test("something that is not an LLM server is not mistaken for one", async () => {
    const web = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("<html>hello</html>", { status: 404, headers: { "content-type": "text/html" } }) })
    defer(async () => web.stop(true))
    expect(await fingerprint(`http://127.0.0.1:${web.port}`)).toBeUndefined()
    // Another Nexus speaks OpenAI but says who it is, and probing never adopts it.
    const other = await nexus({})
    expect((await fetch(`${other.url}/v1/models`)).headers.get("x-nexus-version")).toBeTruthy()
    expect(await identify(other.url)).toEqual({ type: "openai", nexus: true })
    expect(await probeOnce({ hosts: [], ports: [other.port] })).toEqual([])
  })
})
