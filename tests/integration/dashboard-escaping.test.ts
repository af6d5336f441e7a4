/**
 * The dashboard's quoted attributes hold names operators and backends choose: a quote,
 * an ampersand or an angle bracket in a backend's name stays inside its attribute, and
 * reads back as the name itself, on the server-rendered page and for any name at all.
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { startOllama } from "../../emulators/index.ts"
import { renderPage } from "../../src/dashboard/page.ts"
import { createDashboardRenderer } from "../../src/dashboard/render.ts"
import type { BackendState, Snapshot } from "../../src/dashboard/types.ts"
import { hostileString } from "../helpers/hostile.ts"
import { backend, chat } from "../helpers/nexus.ts"
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
    const { backendsTable } = createDashboardRenderer()
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

/** What an HTML parser would take for markup: tags, closing tags, comments, declarations. */
const markup = (html: string) => [...html.matchAll(/<(\/?[a-zA-Z][\w-]*|!--|!|\?)/g)].map((m) => m[1]!)

/** The snapshot's JSON as the browser's parser cuts it: up to the first `</script`, whatever its case. */
function embedded(html: string): unknown {
  const open = '<script type="application/json" id="snapshot">'
  const start = html.indexOf(open) + open.length
  return JSON.parse(html.slice(start, html.toLowerCase().indexOf("</script", start)))
}

describe("dashboard text and the embedded snapshot", () => {
  test("any name from a backend or a client, as element text and in the snapshot, adds no markup and reads back as itself", async () => {
    const ollama = await scope.emulator(startOllama({ models: ["llama3.2:latest"] }))
    const n = await scope.nexus({ backends: [backend("b", ollama.url, "ollama")] })
    await (await n.post("/v1/chat/completions", chat("llama3.2:latest"))).text()
    const base = (await (await n.get("/dashboard/state")).json()) as Snapshot
    expect(base.requests.length).toBeGreaterThan(0)
    /** Every text the page shows from outside: a backend's name, error and model, a request's model, route and error. */
    const withText = (t: string): Snapshot => ({
      ...base,
      version: t,
      backends: base.backends.map((b) => ({ ...b, name: t, type: t, url: t, lastError: t, models: b.models.map((m) => ({ ...m, id: t })) })),
      requests: base.requests.map((r) => ({ ...r, model: t, servedModel: `${t}!`, backend: t, routeReason: t, error: t, requestId: t })),
    })
    const plain = markup(renderPage(withText("plain"), "v"))
    fc.assert(
      // Empty text is left out of the page (no error line, a dash for no model): not a name.
      fc.property(hostileString().filter((t) => t !== ""), (t) => {
        const shown = withText(t)
        const html = renderPage(shown, "v")
        expect(markup(html)).toEqual(plain)
        expect(embedded(html)).toEqual(JSON.parse(JSON.stringify(shown)))
      }),
      { numRuns: 300 }
    )
  })
})
