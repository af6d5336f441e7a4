/**
 * The dashboard over HTTP (the browser tests are in tests/e2e/dashboard-browser.test.ts):
 * who gets the page at `/`, the server-rendered tables, escaping, the assets and their
 * weight, and the live event stream at `/v1/events`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { startOllama, type Emulator } from "../../emulators/index.ts"
import { createDashboardRenderer } from "../../src/dashboard/render.ts"
import { prefersHtml } from "../../src/ingress/accept.ts"
import { backend, chat, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { until } from "../helpers/wait.ts"

const BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
let nexus: TestNexus
let ollama: Emulator

beforeAll(async () => {
  ollama = await startOllama({ models: [{ id: "llama3.2:latest", contextLength: 8192, capabilities: ["completion", "tools"] }, { id: "evil</script><img src=x>" }] })
  nexus = await startNexus({ backends: [backend("ollama", ollama.url, "ollama", { max_concurrent: 4 })] })
})

afterAll(async () => {
  await nexus.stop(0)
  await ollama.stop()
})

describe("GET /", () => {
  test.each([
    [BROWSER, true],
    ["text/html", true],
    ["*/*", false],
    ["application/json", false],
    ["application/json, text/html;q=0.5", false],
    ["text/html, application/json", true], // a tie goes to HTML
    [undefined, false],
  ])("Accept %p prefers HTML: %p", (accept, html) => {
    expect(prefersHtml(accept)).toBe(html)
  })

  test("a browser gets the page; curl and SDKs do not", async () => {
    const page = await fetch(`${nexus.url}/`, { headers: { accept: BROWSER } })
    expect(page.status).toBe(200)
    expect(page.headers.get("content-type")).toStartWith("text/html")
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'")
    const curl = await fetch(`${nexus.url}/`, { headers: { accept: "*/*" } })
    expect(curl.headers.get("content-type")).not.toStartWith("text/html")
    expect((await fetch(`${nexus.url}/dashboard`)).headers.get("content-type")).toStartWith("text/html")
  })

  test("the two handlers at / split every Accept header between them: never a 404 or 405", async () => {
    for (const accept of [BROWSER, "*/*", "application/json", "application/json, text/html;q=0.5", "text/html;q=0", ""]) {
      const res = await fetch(`${nexus.url}/`, { headers: { accept } })
      expect({ accept, status: res.status }).toEqual({ accept, status: 200 })
      const html = res.headers.get("content-type")!.startsWith("text/html")
      expect({ accept, html }).toEqual({ accept, html: prefersHtml(accept) })
      if (!html) expect(await res.text()).toBe("Ollama is running")
    }
  })

  test("without JavaScript the page has the tables, with headers, and refreshes itself", async () => {
    await nexus.post("/v1/chat/completions", chat("llama3.2:latest"))
    const html = await (await fetch(`${nexus.url}/dashboard`)).text()
    expect(html).toContain('<noscript><meta http-equiv="refresh" content="5"></noscript>')
    expect(html).toContain("<main")
    expect(html).toMatch(/<th scope="col">Health<\/th>/)
    expect(html).toContain('data-backend="ollama"')
    expect(html).toMatch(/class="st st-healthy"><span aria-hidden="true">●<\/span> healthy/)
    expect(html).toContain("0 / 4") // in flight / max_concurrent
    expect(html).toMatch(/<th scope="row">llama3\.2:latest<\/th>/)
    expect(html).toContain("Last 100 requests, newest first")
    expect(html).toContain("<svg")
  })

  test("names from backends are escaped, in the tables and in the embedded snapshot", async () => {
    const html = await (await fetch(`${nexus.url}/dashboard`)).text()
    expect(html).not.toContain("evil</script>")
    expect(html).not.toContain("<img src=x>")
    expect(html).toContain("evil&#60;/script&#62;")
  })

  test("assets are embedded, same-origin, and the page stays well under 200 KB", async () => {
    const html = await (await fetch(`${nexus.url}/dashboard`)).text()
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!)
    for (const ref of refs) expect(ref).toMatch(/^[/#]/)
    let total = html.length
    for (const path of ["/dashboard/app.js", "/dashboard/render.ts", "/dashboard/style.css", "/dashboard/icon.svg"]) {
      const res = await fetch(`${nexus.url}${path}`)
      expect(res.status).toBe(200)
      const body = await res.text()
      total += body.length
      if (path.endsWith(".js") || path.endsWith(".ts")) {
        expect(res.headers.get("content-type")).toStartWith("text/javascript")
        expect(body).not.toContain("import type")
        expect(body).not.toMatch(/https?:\/\//)
      }
      const again = await fetch(`${nexus.url}${path}`, { headers: { "if-none-match": res.headers.get("etag")! } })
      expect(again.status).toBe(304)
    }
    expect(total).toBeLessThan(60 * 1024)
  })

  test("with 100 requests in the table, the whole page is well under 200 KB on the wire", async () => {
    await Promise.all(Array.from({ length: 100 }, (_, i) => nexus.post("/v1/chat/completions", chat(i % 4 ? "llama3.2:latest" : `missing-${i}`)).then((r) => r.text())))
    const size = async (path: string, gzip: boolean) => {
      const res = await fetch(`${nexus.url}${path}`, { headers: { "accept-encoding": gzip ? "gzip" : "identity" }, decompress: false })
      expect(res.headers.get("content-encoding") ?? "identity").toBe(gzip && path !== "/dashboard/icon.svg" ? "gzip" : "identity")
      return (await res.arrayBuffer()).byteLength
    }
    const paths = ["/dashboard", "/dashboard/app.js", "/dashboard/render.ts", "/dashboard/style.css", "/dashboard/icon.svg"]
    const raw = (await Promise.all(paths.map((p) => size(p, false)))).reduce((a, b) => a + b)
    const gzipped = (await Promise.all(paths.map((p) => size(p, true)))).reduce((a, b) => a + b)
    console.log(`dashboard weight with 100 requests: ${(raw / 1024).toFixed(1)} KB raw, ${(gzipped / 1024).toFixed(1)} KB gzipped`)
    expect(raw).toBeLessThan(200 * 1024)
    expect(gzipped).toBeLessThan(40 * 1024)
  })

  test("the budget block is read defensively from whatever /v1/stats says", () => {
    const { budget } = createDashboardRenderer()
    expect(budget(undefined)).toBe("")
    expect(budget("nonsense")).toBe("")
    expect(budget({ limit_usd: 10 })).toBe("")
    expect(budget({ spent_usd: 0, limit_usd: null, status: null })).toBe("")
    expect(budget({ spent_usd: 2.5, limit_usd: 10, status: "ok" })).toContain("$2.50</strong> of $10.00 (25%) <strong>ok</strong>")
    expect(budget({ spent_usd: 1, limit_usd: null })).toContain("$1.00</strong> (no limit set)")
  })

  test("read-only without an admin token: no actions in the page or its state", async () => {
    const s = (await (await nexus.get("/dashboard/state")).json()) as { admin: boolean }
    expect(s.admin).toBe(false)
    expect(createDashboardRenderer().backendsTable([], false)).not.toContain("<button")
  })

  test("the state endpoint has backends, requests newest first and 90 chart points", async () => {
    await nexus.post("/v1/chat/completions", chat("not-a-model"))
    const s = (await (await nexus.get("/dashboard/state")).json()) as { backends: { name: string; breaker: string; source: string }[]; requests: { model: string; status: number }[]; series: unknown[] }
    expect(s.backends[0]).toMatchObject({ name: "ollama", breaker: "closed", source: "config" })
    expect(s.requests[0]).toMatchObject({ model: "not-a-model", status: 404 })
    expect(s.series).toHaveLength(90)
  })
})

describe("GET /v1/events", () => {
  test("streams finished requests and backend changes as they happen", async () => {
    const ctrl = new AbortController()
    const res = await fetch(`${nexus.url}/v1/events`, { signal: ctrl.signal })
    expect(res.headers.get("content-type")).toStartWith("text/event-stream")
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let text = ""
    const pump = (async () => {
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }))
        if (done) return
        text += decoder.decode(value, { stream: true })
      }
    })()
    await until(() => text, (t) => t.includes(": connected"), { what: "the stream's first comment" })
    const chatRes = await nexus.post("/v1/chat/completions", chat("llama3.2:latest"))
    const id = chatRes.headers.get("x-request-id")!
    await chatRes.text()
    await until(() => text, (t) => t.includes(`"requestId":"${id}"`), { what: "the request event" })
    expect(text).toContain("event: request\n")
    nexus.deps.registry.setStatus("ollama", "unhealthy", "killed for the test")
    await until(() => text, (t) => t.includes("killed for the test"), { what: "the backend event" })
    expect(text).toMatch(/event: backend\ndata: \{[^\n]*"status":"unhealthy"/)
    ctrl.abort()
    await pump
    nexus.deps.registry.setStatus("ollama", "healthy")
  })
})
