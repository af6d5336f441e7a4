/**
 * A vLLM too old for the Responses API answers `/v1/responses` with a 404: Nexus learns
 * that from the first refusal, translates to chat completions on the same attempt, and
 * never asks that route again; the client sees only answers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { startVllm, type VllmEmulator } from "../../emulators/index.ts"
import { backend, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { readEvents } from "../helpers/sse.ts"
import { until } from "../helpers/wait.ts"

const REPLY = "Hello! I am an emulated model, answering through Nexus."
let nexus: TestNexus
let old: VllmEmulator

beforeAll(async () => {
  old = await startVllm({ models: ["qwen-coder"], chunks: 4, noResponses: true })
  nexus = await startNexus({ health_check: { interval_seconds: 1, failure_threshold: 1, recovery_threshold: 1 }, backends: [backend("old-vllm", old.url, "vllm")] })
})

afterAll(async () => {
  await nexus.stop(0)
  await old.stop()
})

describe("a server without /v1/responses", () => {
  test("the first request is translated after one 404, and so is every later one", async () => {
    const first = await nexus.post("/v1/responses", { model: "qwen-coder", input: "hi", store: false })
    expect(first.status).toBe(200)
    const body = (await first.json()) as { object: string; status: string; output: { type: string; content: { text: string }[] }[] }
    expect(body.object).toBe("response")
    expect(body.output.find((o) => o.type === "message")!.content[0]!.text).toBe(REPLY)

    const streamed = await nexus.post("/v1/responses", { model: "qwen-coder", input: "hi", stream: true, store: false })
    expect(streamed.status).toBe(200)
    const { text } = await readEvents(streamed)
    expect(text).toContain("event: response.completed")
    expect(text).not.toContain("Not Found")

    const again = await nexus.post("/v1/responses", { model: "qwen-coder", input: "hi", store: false })
    expect(again.status).toBe(200)

    expect(old.stats.byPath["/v1/responses"]).toBe(1)
    expect(old.stats.byPath["/v1/chat/completions"]).toBe(3)
  })

  test("what was learned is logged once, and the refusal counts against nothing", async () => {
    const lines = nexus.logs.filter((l) => String(l.msg ?? l.message ?? "").includes("no responses route"))
    expect(lines).toHaveLength(1)
    expect(nexus.deps.registry.list()[0]!.stats.errors).toBe(0)
    expect(nexus.inFlight()).toBe(0)
  })

  test("a server back from being down is asked again (it may have been upgraded)", async () => {
    const status = () => nexus.deps.registry.list()[0]!.status
    old.faults.healthStatus = 503
    await until(status, (s) => s === "unhealthy", { what: "the backend to be down" })
    old.faults.healthStatus = undefined
    await until(status, (s) => s === "healthy", { what: "the backend to be back" })
    const res = await nexus.post("/v1/responses", { model: "qwen-coder", input: "hi", store: false })
    expect(res.status).toBe(200)
    await res.text()
    expect(old.stats.byPath["/v1/responses"]).toBe(2)
  })
})

describe("other ways of saying the route is missing", () => {
  for (const status of [405, 501] as const) {
    test(`${status} is learned the same way`, async () => {
      const emu = await startVllm({ models: ["qwen-coder"], noResponses: status })
      const n = await startNexus({ backends: [backend("old", emu.url, "vllm")] })
      try {
        for (let i = 0; i < 2; i++) {
          const res = await n.post("/v1/responses", { model: "qwen-coder", input: "hi", store: false })
          expect(res.status).toBe(200)
          await res.text()
        }
        expect(emu.stats.byPath["/v1/responses"]).toBe(1)
        expect(emu.stats.byPath["/v1/chat/completions"]).toBe(2)
      } finally {
        await n.stop(0)
        await emu.stop()
      }
    })
  }

  test("a 404 about the model is the client's, not a missing route", async () => {
    const emu = await startVllm({ models: ["qwen-coder"] })
    const n = await startNexus({ backends: [backend("vllm", emu.url, "vllm")] })
    try {
      // The server drops the model between Nexus's probe and the request.
      emu.state.models.splice(0)
      const res = await n.post("/v1/responses", { model: "qwen-coder", input: "hi", store: false })
      expect(res.status).toBe(404)
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe("model")
      expect(n.deps.registry.list()[0]!.lacksNative).toBeUndefined()
    } finally {
      await n.stop(0)
      await emu.stop()
    }
  })
})
