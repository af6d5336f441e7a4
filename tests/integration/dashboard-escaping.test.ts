/**
 * The dashboard's quoted attributes hold names operators and backends choose: a quote,
 * an ampersand or an angle bracket in a backend's name stays inside its attribute, and
 * reads back as the name itself, on the server-rendered page and for any name at all.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { startOllama } from "../../emulators/index.ts"
import { dashboardRenderer } from "../../src/dashboard/render.ts"
import type { BackendState } from "../../src/dashboard/types.ts"
import { backend } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"

const scope = testScope()
const NAME = `say "hi" & 'bye' <b>`

/** An attribute's value as a browser reads it (the renderer writes numeric entities). */
const unescape = (value: string) => value.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
const attributes = (html: string, name: string) => [...html.matchAll(new RegExp(` ${name}="([^"]*)"`, "g"))].map((m) => unescape(m[1]!))

describe("dashboard attributes", () => {
  test("a backend name with quotes and markup stays inside data-backend on the served page", async () => {
    const ollama = await scope.emulator(startOllama({ models: ["llama3.2:latest"] }))
    const n = await scope.nexus({ backends: [backend(NAME, ollama.url, "ollama")] })
    const html = await (await fetch(`${n.url}/dashboard`)).text()
    expect(html).not.toContain(NAME)
    expect(attributes(html, "data-backend")).toEqual([NAME])

    // Every name, in every quoted attribute the backends table writes (the admin buttons too).
    const state = ((await (await n.get("/dashboard/state")).json()) as { backends: BackendState[] }).backends[0]!
    const { backendsTable } = dashboardRenderer()
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."ab \"'&<>=;#/"), maxLength: 16 }), (name) => {
        const html = backendsTable([{ ...state, id: name, name, source: "admin" }], true)
        expect(attributes(html, "data-backend")).toEqual([name])
        expect(attributes(html, "data-id")).toEqual([name, name])
        expect(attributes(html, "aria-label").slice(-2)).toEqual([`Drain ${name}`, `Remove ${name}`])
      }),
      { numRuns: 300 }
    )
    // A configured backend is the file's to remove: the page offers only drain.
    expect(attributes(backendsTable([state], true), "data-action")).toEqual(["drain"])
  })
})
