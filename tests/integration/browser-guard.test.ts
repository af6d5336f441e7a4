/**
 * Web pages in the operator's browser against the gateway: a page on another site may
 * not change state (a CORS "simple request" needs no preflight), and a DNS-rebinding page
 * (its own domain resolved to this machine, so the browser calls it same-origin) gets
 * nothing at all, reads included. Programs that are not browser pages are unaffected.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import fc from "fast-check"
import { hostname, networkInterfaces } from "node:os"
import { startOllama } from "../../emulators/index.ts"
import { parseConfigText } from "../../src/config/load.ts"
import { head, rawRequest } from "../helpers/raw-http.ts"
import { startNexus, type TestNexus } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"

const scope = testScope()

let n: TestNexus
beforeAll(async () => {
  n = await startNexus({ server: { allowed_hosts: ["nexus.example.test", "*.lan"] } })
})
afterAll(() => n.stop(0))

type Dialect = "openai" | "anthropic" | "ollama"
interface Route {
  method: "POST" | "DELETE" | "GET"
  path: string
  body?: string
  /** The route takes a JSON body and refuses other media types. */
  json?: boolean
  dialect: Dialect
}

const chatBody = JSON.stringify({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] })
const ROUTES: Route[] = [
  { method: "POST", path: "/v1/backends", body: "{}", json: true, dialect: "openai" },
  { method: "DELETE", path: "/v1/backends/nope", dialect: "openai" },
  { method: "POST", path: "/v1/backends/nope/drain", dialect: "openai" },
  { method: "POST", path: "/v1/backends/nope/undrain", dialect: "openai" },
  { method: "POST", path: "/v1/admin/reload", dialect: "openai" },
  { method: "POST", path: "/v1/chat/completions", body: chatBody, dialect: "openai" },
  { method: "POST", path: "/v1/completions", body: JSON.stringify({ model: "no-such-model", prompt: "hi" }), dialect: "openai" },
  { method: "POST", path: "/v1/embeddings", body: JSON.stringify({ model: "no-such-model", input: "hi" }), dialect: "openai" },
  { method: "POST", path: "/v1/responses", body: JSON.stringify({ model: "no-such-model", input: "hi" }), dialect: "openai" },
  { method: "POST", path: "/v1/messages", body: JSON.stringify({ model: "no-such-model", max_tokens: 5, messages: [{ role: "user", content: "hi" }] }), dialect: "anthropic" },
  { method: "POST", path: "/api/chat", body: chatBody, dialect: "ollama" },
  { method: "POST", path: "/api/generate", body: JSON.stringify({ model: "no-such-model", prompt: "hi" }), dialect: "ollama" },
  { method: "POST", path: "/api/embed", body: JSON.stringify({ model: "no-such-model", input: "hi" }), dialect: "ollama" },
  { method: "POST", path: "/api/embeddings", body: JSON.stringify({ model: "no-such-model", prompt: "hi" }), dialect: "ollama" },
  { method: "GET", path: "/v1/backends", dialect: "openai" },
  { method: "GET", path: "/dashboard/state", dialect: "openai" },
]

/** Every form a legitimate client may name this gateway by. */
function goodHosts(port: number): string[] {
  const name = hostname()
  const label = name.split(".")[0]!
  const addresses = Object.values(networkInterfaces())
    .flatMap((l) => l ?? [])
    .map((a) => (a.family === "IPv6" ? `[${a.address}]` : a.address))
  return [
    `127.0.0.1:${port}`,
    "127.0.0.1",
    `localhost:${port}`,
    "LocalHost.",
    `[::1]:${port}`,
    name,
    `${label}.local:${port}`,
    ...addresses,
    ...addresses.map((a) => `${a}:${port}`),
    "nexus.example.test",
    `gpu.box.lan:${port}`,
  ]
}

function request(route: Route, headers: Record<string, string>): Promise<Response> {
  return fetch(`${n.url}${route.path}`, { method: route.method, headers, body: route.body })
}

/** The error code in the route's dialect (Ollama's envelope has only a message). */
function errorOf(dialect: Dialect, body: Record<string, unknown>): { code?: unknown; message: string } {
  if (dialect === "ollama") return { message: body.error as string }
  const e = body.error as { message: string; code?: unknown; type?: string }
  if (dialect === "anthropic") expect(body.type).toBe("error")
  return e
}

describe("a page on another site", () => {
  test("cannot add a backend with a CORS simple request, nor drain, remove or reload", async () => {
    const page = { origin: "https://evil.example", "sec-fetch-site": "cross-site", "content-type": "text/plain;charset=UTF-8" }
    const body = JSON.stringify({ url: "http://127.0.0.1:9/", name: "catch-all", priority: -100 })
    const add = await fetch(`${n.url}/v1/backends`, { method: "POST", headers: page, body })
    expect(add.status).toBe(403)
    const err = ((await add.json()) as { error: { code: string; message: string } }).error
    expect(err.code).toBe("cross_site_request")
    expect(err.message).toContain('"https://evil.example"')
    for (const path of ["/v1/backends/x/drain", "/v1/admin/reload"]) {
      expect((await fetch(`${n.url}${path}`, { method: "POST", headers: page })).status).toBe(403)
    }
    expect((await fetch(`${n.url}/v1/backends/x`, { method: "DELETE", headers: page })).status).toBe(403)
    // Sec-Fetch-Site alone is enough, and so is a foreign Origin alone.
    expect((await fetch(`${n.url}/v1/backends`, { method: "POST", headers: { "sec-fetch-site": "cross-site", "content-type": "application/json" }, body })).status).toBe(403)
    expect((await fetch(`${n.url}/v1/backends`, { method: "POST", headers: { origin: "null", "content-type": "application/json" }, body })).status).toBe(403)
    expect(n.deps.registry.list()).toEqual([])
  })

  test("a JSON body must say it is JSON: text/plain gets a 415 even without browser headers", async () => {
    const res = await fetch(`${n.url}/v1/backends`, { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify({ url: "http://127.0.0.1:9/" }) })
    expect(res.status).toBe(415)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unsupported_media_type")
    expect(n.deps.registry.list()).toEqual([])
  })

  test("the dashboard's own page (same origin) still drains", async () => {
    const emu = await scope.emulator(startOllama())
    const res = await fetch(`${n.url}/v1/backends`, { method: "POST", headers: { "content-type": "application/json", origin: n.url, "sec-fetch-site": "same-origin" }, body: JSON.stringify({ url: emu.url, name: "own-page", type: "ollama" }) })
    expect(res.status).toBe(201)
    scope.defer(async () => n.deps.manager.removeBackend("own-page"))
    const drain = await fetch(`${n.url}/v1/backends/own-page/drain`, { method: "POST", headers: { origin: n.url, "sec-fetch-site": "same-origin" } })
    expect(drain.status).toBe(200)
  })
})

describe("the Host header", () => {
  test("a DNS-rebinding page gets a 421 for reads, writes and the event stream", async () => {
    const rebound = { host: `attacker.example:${n.port}`, origin: `http://attacker.example:${n.port}`, "sec-fetch-site": "same-origin" }
    for (const path of ["/v1/events", "/v1/backends", "/dashboard", "/dashboard/state", "/v1/stats", "/"]) {
      const res = await fetch(`${n.url}${path}`, { headers: { ...rebound, accept: "text/html" } })
      expect(res.status).toBe(421)
      const err = ((await res.json()) as { error: { code: string; message: string } }).error
      expect(err).toMatchObject({ code: "host_not_allowed" })
      expect(err.message).toContain("allowed_hosts")
    }
    const add = await fetch(`${n.url}/v1/backends`, { method: "POST", headers: { ...rebound, "content-type": "application/json" }, body: JSON.stringify({ url: "http://127.0.0.1:9/" }) })
    expect(add.status).toBe(421)
    expect(n.deps.registry.list()).toEqual([])
  })

  test("every name and address of this machine, allowed_hosts, and no Host at all are answered", async () => {
    for (const host of goodHosts(n.port)) {
      const res = await fetch(`${n.url}/v1/backends`, { headers: { host } })
      expect({ host, status: res.status }).toEqual({ host, status: 200 })
    }
    const http10 = await rawRequest(n.port, "GET /health HTTP/1.0\r\n\r\n")
    expect(http10.status).toBe(200)
    const plain = await rawRequest(n.port, head("GET", "/v1/backends"))
    expect(plain.status).toBe(200)
  })

  test('allowed_hosts = ["*"] turns the check off, and a reload applies a new list', async () => {
    let allowed = ["*"]
    const g = await scope.nexus({ server: { allowed_hosts: allowed } }, { loadConfig: async () => ({ ...g.deps.config(), server: { ...g.deps.config().server, allowed_hosts: allowed } }) })
    const get = (host: string) => fetch(`${g.url}/v1/backends`, { headers: { host } }).then((r) => r.status)
    expect(await get("anything.example")).toBe(200)
    allowed = ["nexus.example.test"]
    await g.reload()
    expect(await get("anything.example")).toBe(421)
    expect(await get("nexus.example.test")).toBe(200)
  })
})

test("allowed_hosts in the file: names, addresses and globs, normalised; a URL or a port is refused by name", () => {
  const parse = (v: string) => parseConfigText(`[server]\nallowed_hosts = ${v}\n`, "n.toml").server.allowed_hosts
  expect(parse('["Nexus.Example.COM.", "[::1]", "*.lan", "*"]')).toEqual(["nexus.example.com", "::1", "*.lan", "*"])
  for (const bad of ['["http://x.com/"]', '["x.com:8000"]', '"x.com"']) expect(() => parse(bad)).toThrow("server.allowed_hosts")
  expect(() => parse('["x.com:8000"]')).toThrow('expected a host name, address or glob like "nexus.example.com"')
})

describe("for every Host, Origin, Sec-Fetch-Site and content type", () => {
  test("each route answers as it would, or refuses with 421 / 403 / 415 in its dialect", async () => {
    const good = goodHosts(n.port)
    const own = `127.0.0.1:${n.port}`
    const reserved = (h: string) => /(^|\.)(localhost|local|lan)$/.test(h) || h === "nexus.example.test" || h === hostname().toLowerCase()
    const badHost = fc.tuple(fc.domain().filter((d) => !reserved(d)), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }))
      .map(([d, p]) => (p === undefined ? d : `${d}:${p}`))
    const host = fc.oneof(fc.constantFrom(...good).map((h) => ({ h, ok: true })), badHost.map((h) => ({ h, ok: false })))
    const origin = (h: string) =>
      fc.constantFrom<"none" | "same" | "same-https" | "null" | "other" | "own-other-port">("none", "same", "same-https", "null", "other", "own-other-port").map((kind) => ({
        kind,
        value: { none: undefined, same: `http://${h}`, "same-https": `https://${h}`, null: "null", other: "https://evil.example", "own-other-port": `http://127.0.0.1:${n.port + 1}` }[kind],
      }))
    const site = fc.constantFrom(undefined, "same-origin", "same-site", "cross-site", "none")
    const type = fc.constantFrom(undefined, "application/json", "Application/JSON; charset=utf-8", "application/vnd.api+json", "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x")

    // What each route answers a client that is not a browser page elsewhere.
    const baseline = new Map<Route, number>()
    for (const r of ROUTES) baseline.set(r, (await request(r, { host: own, "content-type": "application/json" })).status)
    expect([...baseline.values()].every((s) => s < 500 && s !== 403 && s !== 415 && s !== 421)).toBe(true)

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        host.chain((h) => fc.tuple(fc.constant(h), origin(h.h), site, type)),
        async (route, [h, o, s, t]) => {
          const headers: Record<string, string> = { host: h.h }
          if (o.value !== undefined) headers.origin = o.value
          if (s !== undefined) headers["sec-fetch-site"] = s
          if (t !== undefined) headers["content-type"] = t
          const res = await request(route, headers)
          const foreign = s === "cross-site" || (o.value !== undefined && o.kind !== "same" && o.kind !== "same-https")
          const json = t !== undefined && /^application\/(json|vnd\.api\+json)/i.test(t)
          const want = !h.ok ? 421 : route.method !== "GET" && foreign ? 403 : route.json && !json ? 415 : baseline.get(route)!
          expect({ route: route.path, headers, status: res.status }).toEqual({ route: route.path, headers, status: want })
          if (want === 421 || want === 403 || want === 415) {
            const err = errorOf(route.dialect, (await res.json()) as Record<string, unknown>)
            expect(err.message.length).toBeGreaterThan(20)
            if (route.dialect === "openai") expect(err.code).toBe({ 421: "host_not_allowed", 403: "cross_site_request", 415: "unsupported_media_type" }[want])
          } else await res.body?.cancel()
        }
      ),
      { numRuns: 300 }
    )
    expect(n.deps.registry.list()).toEqual([])
  })
})
