/**
 * The dashboard's memory and loads over HTTP: the state carries each box's budget and its
 * models' residency facts and the recent loads, `/v1/events` sends a `load` event when a
 * model finishes loading, the signed-out page shows none of it, and model names (user
 * data) stay text and stay inside their attributes, on the served page and for any name.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { startOllama, startVllm } from "../../emulators/index.ts"
import { createDashboardRenderer } from "../../src/dashboard/render.ts"
import type { BackendState, Snapshot } from "../../src/dashboard/types.ts"
import { backend, chat } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { until } from "../helpers/wait.ts"

const scope = testScope()
const GIB = 1024 ** 3
const MARKUP = "<img src=x onerror=alert(1)>"
const QUOTED = `say "hi" & 'bye'`

const unescape = (value: string) => value.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
const attributes = (html: string, name: string) => [...html.matchAll(new RegExp(` ${name}="([^"]*)"`, "g"))].map((m) => unescape(m[1]!))

describe("memory and loads on the dashboard", () => {
  test("the state has budgets, residency facts and recent loads; /v1/events sends each load", async () => {
    const o = await scope.emulator(
      startOllama({ models: [{ id: "warm:1b", sizeBytes: GIB }, { id: "cold:2b", loaded: false, sizeBytes: 2 * GIB }], fleet: { loadMsPerGb: 100 } })
    )
    const v = await scope.emulator(startVllm({ models: [{ id: "served/model" }] }))
    const n = await scope.nexus({
      backends: [backend("box", o.url, "ollama", { memory_gb: 8 }), backend("fixed", v.url, "vllm")],
      fleet: { pins: [{ model: "warm:1b", backend: "box" }] },
    })
    const ctrl = new AbortController()
    const res = await fetch(`${n.url}/v1/events`, { signal: ctrl.signal })
    let text = ""
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    void (async () => {
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }))
        if (done) return
        text += decoder.decode(value, { stream: true })
      }
    })()
    await until(() => text, (t) => t.includes(": connected"), { what: "the stream's first comment" })
    await (await n.post("/v1/chat/completions", chat("cold:2b"))).text()
    const event = await until(() => text, (t) => t.includes("event: load\n"), { what: "the load event" })
    const data = JSON.parse(event.split("event: load\n")[1]!.split("\n")[0]!.slice("data: ".length)) as Record<string, unknown>
    expect(data).toMatchObject({ backend: "box", model: "cold:2b", reason: "request" })
    expect(data.seconds).toBeNumber()
    ctrl.abort()

    const state = (await (await n.get("/dashboard/state")).json()) as Snapshot
    const box = state.backends.find((b) => b.name === "box")!
    expect(box.memoryBytes).toBe(8 * GIB)
    expect(box.alwaysLoaded).toBe(false)
    const warm = box.models.find((m) => m.id === "warm:1b")!
    expect([warm.sizeBytes, warm.pinned, warm.inFlight]).toEqual([GIB, true, 0])
    expect(box.models.find((m) => m.id === "cold:2b")!.loadMs).toBeGreaterThanOrEqual(200)
    expect(state.backends.find((b) => b.name === "fixed")!.alwaysLoaded).toBe(true)
    expect(state.loads.map((l) => [l.backend, l.model, l.reason])).toEqual([["box", "cold:2b", "request"]])

    const html = await (await fetch(`${n.url}/dashboard`)).text()
    expect(html).toContain('<section aria-labelledby="h-fleet">')
    expect(html).toContain('aria-label="box: 3.0 GB of 8.0 GB used by 2 loaded models"')
    expect(html).toContain("always loaded (no load/unload API): served/model")
  }, 20_000)

  test("model names that are markup or hold quotes stay text on the served page", async () => {
    const o = await scope.emulator(startOllama({ models: [{ id: MARKUP, sizeBytes: GIB }, { id: QUOTED, sizeBytes: GIB }], fleet: {} }))
    const n = await scope.nexus({ backends: [backend("box", o.url, "ollama")] })
    const html = await (await fetch(`${n.url}/dashboard`)).text()
    const fleet = html.slice(html.indexOf('<div id="fleet">'), html.indexOf("</section>", html.indexOf('<div id="fleet">')))
    expect(fleet).not.toContain("<img")
    expect(fleet).not.toContain(QUOTED)
    expect(attributes(fleet, "data-model")).toEqual([MARKUP, QUOTED])
  })

  test("signed out (client keys required), the page shows no loads", async () => {
    const o = await scope.emulator(startOllama({ models: [{ id: "cold:1b", loaded: false, sizeBytes: GIB }], fleet: {} }))
    const n = await scope.nexus({
      server: { admin_token: "t0ken-for-the-test" },
      auth: { required: true },
      backends: [backend("box", o.url, "ollama")],
      fleet: { pins: [{ model: "cold:1b", backend: "box" }] },
    })
    const signedIn = { headers: { authorization: "Bearer t0ken-for-the-test" } }
    await until(async () => ((await (await fetch(`${n.url}/dashboard/state`, signedIn)).json()) as Snapshot).loads, (l) => l.length === 1, { what: "the pin's load" })
    const html = await (await fetch(`${n.url}/dashboard`)).text()
    expect(html).not.toContain("cold:1b")
  })

  test("for any model and backend name, every attribute the section writes reads back as the name", () => {
    const { fleetSection } = createDashboardRenderer()
    const base: BackendState = {
      id: "b", name: "b", type: "ollama", url: "http://x", source: "config", status: "healthy", lastError: null, lastCheck: null, zone: "local", tier: 1, priority: 50,
      inFlight: 0, maxConcurrent: null, requests: 0, errors: 0, errorRate: 0, latencyMs: null, ttftMs: null, probeMs: null, breaker: "closed", withdrawn: false,
      alwaysLoaded: false, memoryBytes: 8 * GIB, models: [],
    }
    const name = fc.string({ unit: fc.constantFrom(..."ab \"'&<>=;#/"), maxLength: 16 })
    fc.assert(
      fc.property(name, name, fc.boolean(), (model, box, pinned) => {
        const m = { id: model, contextLength: null, vision: null, tools: null, json: null, embeddings: null, loaded: true, sizeBytes: GIB, expiresAt: null, pinned, inFlight: 0, loadMs: 1200 }
        const html = fleetSection([{ ...base, id: box, name: box, models: [m] }, { ...base, id: box, name: box, alwaysLoaded: true, models: [m] }], [{ backend: box, model, reason: "request", seconds: 1.2, at: 0 }])
        expect(attributes(html, "data-box")).toEqual([box, box])
        expect(attributes(html, "data-model")).toEqual([model])
        expect(attributes(html, "aria-label")).toEqual([`${box}: 1.0 GB of 8.0 GB used by 1 loaded model`, "Recent loads, newest first"])
        // Outside attributes, no name opens an element of its own.
        expect(html.replace(/<\/?(div|figure|figcaption|strong|span|svg|rect|title|ul|li|p|table|caption|thead|tbody|tr|th|td|time)\b[^>]*>/g, "")).not.toMatch(/[<>]/)
      }),
      { numRuns: 300 }
    )
  })
})
