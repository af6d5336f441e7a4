/**
 * Responses Nexus makes by translating are kept (bounded, expiring, in the state file):
 * a client continues one with previous_response_id, reads it back, deletes it, and counts
 * input tokens with it. Who holds a conversation decides where it can go: Nexus's own are
 * translated everywhere, ids Nexus does not hold go only to servers that keep their own.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startLlamacpp, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { readEvents } from "../helpers/sse.ts"
import { until } from "../helpers/wait.ts"

const REPLY = "Hello! I am an emulated model, answering through Nexus."
type Obj = Record<string, unknown>
let nexus: TestNexus
let llama: Emulator
let vllm: Emulator

beforeAll(async () => {
  llama = await startLlamacpp({ models: ["gemma"], chunks: 3 })
  vllm = await startVllm({ models: ["qwen-coder"], chunks: 3 })
  nexus = await startNexus({ backends: [backend("llama", llama.url, "llamacpp"), backend("vllm", vllm.url, "vllm")] })
})

afterAll(async () => {
  await nexus.stop(0)
  await Promise.all([llama.stop(), vllm.stop()])
})

const create = async (n: TestNexus, body: Obj) => {
  const res = await n.post("/v1/responses", body)
  expect(res.status).toBe(200)
  return (await res.json()) as Obj & { id: string; output: Obj[] }
}
/** The JSON of each event of a Responses stream (`event:` line, then `data:`). */
const responseEvents = async (res: Response) =>
  (await readEvents(res)).events.map((e) => JSON.parse(e.slice(e.indexOf("data:") + 5)) as { type: string; response?: Obj })
const lastChat = (e: Emulator) => JSON.parse(e.stats.bodies.at(-1)!) as { messages: { role: string; content: unknown }[] }

describe("responses Nexus keeps", () => {
  test("are read back, continued with previous_response_id, and deleted", async () => {
    const first = await create(nexus, { model: "gemma", instructions: "be brief", input: "my name is Ada" })
    expect(first.store).toBe(true)
    const got = await nexus.get(`/v1/responses/${first.id}`)
    expect(got.status).toBe(200)
    expect(await got.json()).toEqual(first)

    const second = await create(nexus, { model: "gemma", previous_response_id: first.id, input: "what is my name?" })
    expect(second.previous_response_id).toBe(first.id)
    // The conversation is rebuilt: earlier input and output, then the new input (instructions are not carried over).
    expect(lastChat(llama).messages).toEqual([
      { role: "user", content: "my name is Ada" },
      { role: "assistant", content: REPLY },
      { role: "user", content: "what is my name?" },
    ])
    const items = (await (await nexus.get(`/v1/responses/${second.id}/input_items?order=asc`)).json()) as { data: Obj[] }
    expect(items.data.map((i) => i.type ?? "message")).toEqual(["message", "message", "message"])

    const del = await fetch(`${nexus.url}/v1/responses/${first.id}`, { method: "DELETE" })
    expect(await del.json()).toEqual({ id: first.id, object: "response", deleted: true })
    const gone = await nexus.get(`/v1/responses/${first.id}`)
    expect(gone.status).toBe(404)
    expect(((await gone.json()) as { error: Obj }).error).toMatchObject({ type: "invalid_request_error" })
    // The continuation holds the whole conversation: it outlives the response it continued.
    await create(nexus, { model: "gemma", previous_response_id: second.id, input: "and again?" })
    expect(lastChat(llama).messages).toHaveLength(5)
  })

  test("a streamed answer is kept as the stream's final response", async () => {
    const res = await nexus.post("/v1/responses", { model: "gemma", input: "hi", stream: true })
    const completed = (await responseEvents(res)).find((e) => e.type === "response.completed")!
    const id = completed.response!.id as string
    expect(await (await nexus.get(`/v1/responses/${id}`)).json()).toEqual(completed.response)
  })

  test("store: false keeps nothing", async () => {
    const r = await create(nexus, { model: "gemma", input: "hi", store: false })
    expect(r.store).toBe(false)
    expect((await nexus.get(`/v1/responses/${r.id}`)).status).toBe(404)
  })

  test("Nexus's own conversation is translated even on a server with its own Responses API", async () => {
    const first = await create(nexus, { model: "gemma", input: "my name is Ada" })
    const native = vllm.stats.byPath["/v1/responses"] ?? 0
    const chats = vllm.stats.byPath["/v1/chat/completions"] ?? 0
    const next = await create(nexus, { model: "qwen-coder", previous_response_id: first.id, input: "what is my name?" })
    expect(next.previous_response_id).toBe(first.id)
    expect(vllm.stats.byPath["/v1/responses"] ?? 0).toBe(native)
    expect(vllm.stats.byPath["/v1/chat/completions"]).toBe(chats + 1)
    expect(lastChat(vllm).messages.map((m) => m.role)).toEqual(["user", "assistant", "user"])
  })

  test("an id Nexus does not hold goes to a server that keeps its own, and is a 404 elsewhere", async () => {
    await create(nexus, { model: "qwen-coder", previous_response_id: "resp_native_1", input: "go on" })
    expect(JSON.parse(vllm.stats.lastRequest!.body).previous_response_id).toBe("resp_native_1")
    const res = await nexus.post("/v1/responses", { model: "gemma", previous_response_id: "resp_native_1", input: "go on" })
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error: Obj }).error).toMatchObject({ type: "invalid_request_error", param: "previous_response_id", code: "previous_response_not_found" })
    expect(nexus.inFlight()).toBe(0)
  })

  test("item_reference names output Nexus keeps (the Vercel AI SDK's default); an unknown one is a 404 naming input", async () => {
    const first = await create(nexus, { model: "gemma", input: "my name is Ada" })
    const message = first.output.find((o) => o.type === "message")!
    await create(nexus, { model: "gemma", input: [{ role: "user", content: "my name is Ada" }, { type: "item_reference", id: message.id }, { role: "user", content: "what is my name?" }] })
    expect(lastChat(llama).messages).toEqual([
      { role: "user", content: "my name is Ada" },
      { role: "assistant", content: REPLY },
      { role: "user", content: "what is my name?" },
    ])
    const unknown = await nexus.post("/v1/responses", { model: "gemma", input: [{ type: "item_reference", id: "msg_elsewhere" }, { role: "user", content: "hi" }] })
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { error: Obj }).error).toMatchObject({ param: "input", code: "item_not_found" })
    // A server with its own Responses API may know it: it gets the request as sent.
    await create(nexus, { model: "qwen-coder", input: [{ type: "item_reference", id: "msg_elsewhere" }, { role: "user", content: "hi" }] })
    expect(JSON.parse(vllm.stats.lastRequest!.body).input[0]).toEqual({ type: "item_reference", id: "msg_elsewhere" })
  })

  test("input_tokens counts the request, with the conversation it continues", async () => {
    const first = await create(nexus, { model: "gemma", input: "a long first message ".repeat(20) })
    const alone = await nexus.post("/v1/responses/input_tokens", { model: "gemma", input: "next" })
    const bodyAlone = (await alone.json()) as { object: string; input_tokens: number }
    expect(bodyAlone.object).toBe("response.input_tokens")
    const continued = (await (await nexus.post("/v1/responses/input_tokens", { model: "gemma", input: "next", previous_response_id: first.id })).json()) as { input_tokens: number }
    expect(continued.input_tokens).toBeGreaterThan(bodyAlone.input_tokens)
    const unknown = await nexus.post("/v1/responses/input_tokens", { model: "gemma", input: "next", previous_response_id: "resp_nope" })
    expect(unknown.status).toBe(404)
    const bad = await nexus.post("/v1/responses/input_tokens", { input: "next" })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: Obj }).error).toMatchObject({ param: "model" })
  })
})

describe("the bounds", () => {
  test("beyond max_stored the oldest are forgotten", async () => {
    const small = await startNexus({ backends: [backend("llama", llama.url, "llamacpp")], responses: { max_stored: 2 } })
    try {
      const ids: string[] = []
      for (let i = 0; i < 3; i++) ids.push((await create(small, { model: "gemma", input: `turn ${i}` })).id)
      expect((await small.get(`/v1/responses/${ids[0]}`)).status).toBe(404)
      expect((await small.get(`/v1/responses/${ids[1]}`)).status).toBe(200)
      expect((await small.get(`/v1/responses/${ids[2]}`)).status).toBe(200)
    } finally {
      await small.stop(0)
    }
  })

  test("a response older than max_age_days is forgotten", async () => {
    // A millisecond's worth of days.
    const brief = await startNexus({ backends: [backend("llama", llama.url, "llamacpp")], responses: { max_age_days: 1 / 86_400_000 } })
    try {
      const r = await create(brief, { model: "gemma", input: "hi" })
      await until(() => brief.get(`/v1/responses/${r.id}`).then((res) => res.status), (s) => s === 404, { what: "the response to expire" })
      const res = await brief.post("/v1/responses", { model: "gemma", previous_response_id: r.id, input: "more" })
      expect(res.status).toBe(404)
    } finally {
      await brief.stop(0)
    }
  })

  test("an unreadable state file is a 503 that says so, and answers still flow", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "nexus-responses-bad-"))
    writeFileSync(join(dataDir, "nexus.sqlite"), "this is not a database\n".repeat(200))
    const broken = await startNexus({ backends: [backend("llama", llama.url, "llamacpp")] }, { dataDir })
    try {
      const r = await create(broken, { model: "gemma", input: "hi" })
      expect(r.output.length).toBeGreaterThan(0)
      for (const res of [await broken.post("/v1/responses", { model: "gemma", input: "more", previous_response_id: r.id }), await broken.get(`/v1/responses/${r.id}`)]) {
        expect(res.status).toBe(503)
        expect(((await res.json()) as { error: { message: string } }).error.message).toContain("state file")
      }
      expect(broken.inFlight()).toBe(0)
    } finally {
      await broken.stop(0)
    }
  })

  test("kept responses survive a restart (they live in the state file)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "nexus-responses-"))
    const one = await startNexus({ backends: [backend("llama", llama.url, "llamacpp")] }, { dataDir })
    const r = await create(one, { model: "gemma", input: "remember me" })
    await one.stop(0)
    const two = await startNexus({ backends: [backend("llama", llama.url, "llamacpp")] }, { dataDir })
    try {
      expect((await two.get(`/v1/responses/${r.id}`)).status).toBe(200)
    } finally {
      await two.stop(0)
    }
  })
})
