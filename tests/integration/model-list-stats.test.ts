/**
 * Secondary outputs that operators and clients read: `/v1/models` lists what healthy
 * backends serve, with the largest context any of them offers; `/v1/stats` counts each
 * model's failed requests.
 */
import { describe, expect, test } from "bun:test"
import { startVllm } from "../../emulators/index.ts"
import { backend, chat } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { until } from "../helpers/wait.ts"

const scope = testScope()

describe("/v1/models", () => {
  test("a model on two backends has the larger context; an unhealthy backend's models are not offered", async () => {
    const small = await scope.emulator(startVllm({ models: [{ id: "m", contextLength: 4096 }] }))
    const large = await scope.emulator(startVllm({ models: [{ id: "m", contextLength: 8192 }] }))
    const gone = await scope.emulator(startVllm({ models: ["ghost"] }))
    const n = await scope.nexus({ backends: [backend("small", small.url, "vllm", { priority: 1 }), backend("large", large.url, "vllm", { priority: 2 }), backend("gone", gone.url, "vllm")] })
    const list = async () => ((await (await n.get("/v1/models")).json()) as { data: { id: string; context_length: number | null }[] }).data
    expect((await list()).map((m) => m.id).sort()).toEqual(["ghost", "m"])
    expect((await list()).find((m) => m.id === "m")?.context_length).toBe(8192)
    await gone.stop()
    const ids = await until(
      async () => {
        await n.deps.health.checkAll()
        return (await list()).map((m) => m.id)
      },
      (v) => !v.includes("ghost"),
      { what: "ghost gone from /v1/models", everyMs: 50 }
    )
    expect(ids).toEqual(["m"])
  })
})

describe("/v1/stats", () => {
  test("a failed request counts as an error of its model, a served one does not", async () => {
    const v = await scope.emulator(startVllm({ models: ["m"] }))
    const n = await scope.nexus({ backends: [backend("v", v.url, "vllm")] })
    expect((await n.post("/v1/chat/completions", chat("m"))).status).toBe(200)
    v.faults.status = 500
    expect((await n.post("/v1/chat/completions", chat("m"))).status).toBeGreaterThanOrEqual(500)
    const model = async () => ((await (await n.get("/v1/stats")).json()) as { models: { name: string; requests: number; errors: number }[] }).models.find((m) => m.name === "m")
    expect(await until(model, (m) => m?.requests === 2, { what: "two requests counted" })).toMatchObject({ requests: 2, errors: 1 })
  })
})
