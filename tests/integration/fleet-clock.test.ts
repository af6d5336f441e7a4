/**
 * Fleet time is the gateway's clock (`startGateway(config, { clock })`), not the host's:
 * a load claim that nobody confirmed expires after ten minutes of that clock, and a pin
 * renews a model whose expiry (the server's `expires_at`) falls short of the pin's end on it.
 */
import { describe, expect, test } from "bun:test"
import { startOllama } from "../../emulators/index.ts"
import { testClock } from "../helpers/clock.ts"
import { backend, chat, type TestNexus } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually } from "../helpers/wait.ts"

const scope = testScope()
const GIB = 1024 ** 3
const MIN = 60_000

/** A streamed request for a cold model: its stream opens at once, naming the box it waits on. */
async function coldStream(n: TestNexus, model: string) {
  const res = await n.post("/v1/chat/completions", chat(model, { stream: true }))
  expect(res.status).toBe(200)
  return { box: res.headers.get("x-nexus-loading"), cancel: () => res.body?.cancel() }
}

describe("a load claim", () => {
  test("holds requests to the box loading the model, and expires after ten minutes of the gateway's clock", async () => {
    const clock = testClock(Date.UTC(2031, 0, 6, 12))
    // The loads never finish while the test looks: the claim is the only thing that moves.
    let finish!: () => void
    const held = new Promise<void>((resolve) => (finish = resolve))
    const start = () => scope.emulator(startOllama({ models: [{ id: "m:7b", loaded: false, sizeBytes: 2 * GIB }], fleet: { loadMsPerGb: 1000, sleep: () => held } }))
    const [a, b] = await Promise.all([start(), start()])
    scope.defer(async () => finish())
    const n = await scope.nexus({ backends: [backend("a", a.url, "ollama", { priority: 1 }), backend("b", b.url, "ollama", { priority: 90 })] }, { clock })

    const first = await coldStream(n, "m:7b")
    expect(first.box).toBe("a")
    await eventually(() => a.fleet!.isLoading("m:7b"), 5000, "the load under way on a")
    // Nine minutes on: the claim holds, so the next request follows the load on a, busy or not.
    clock.advance(9 * MIN)
    const second = await coldStream(n, "m:7b")
    expect(second.box).toBe("a")
    // Ten minutes after the last request claimed it, nobody has confirmed the load: placement
    // decides afresh, and the idle box wins over the busy one.
    clock.advance(11 * MIN)
    const third = await coldStream(n, "m:7b")
    expect(third.box).toBe("b")
    for (const s of [first, second, third]) await s.cancel()
    await eventually(() => n.inFlight() === 0, 10_000, "the streams over")
  }, 30_000)
})

describe("a pin's renewal", () => {
  test("compares the server's expiry with the gateway's clock: a model due to expire is kept without one", async () => {
    // Years ahead of the host's clock: an expiry read against the host's would look far off.
    const clock = testClock(Date.UTC(2031, 0, 6, 12))
    const a = await scope.emulator(startOllama({ models: [{ id: "coder:7b", sizeBytes: GIB }], fleet: { keepAliveMs: 5 * MIN, now: clock.now } }))
    expect(a.fleet!.resident()[0]!.expiresAt).toBe(clock.now() + 5 * MIN)
    await scope.nexus({ backends: [backend("a", a.url, "ollama")], fleet: { pins: [{ model: "coder:7b", backend: "a" }] } }, { clock })
    await eventually(() => a.fleet!.resident()[0]?.expiresAt === undefined, 5000, "kept loaded without an expiry")
    expect(a.fleet!.loads).toEqual({})
  })
})
