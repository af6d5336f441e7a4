/**
 * With client keys required, the dashboard and the views that feed it follow the admin
 * token: they show key names and usage. A program sends the token as a Bearer header; the
 * page signs in once and gets a cookie (its event stream cannot send headers). `/health`
 * and `/metrics` stay open; without `[auth] required` nothing changes.
 */
import { describe, expect, test } from "bun:test"
import { startOllama } from "../../emulators/index.ts"
import { backend } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"

const scope = testScope()
const TOKEN = "viewer-admin-token-0123"
const VIEWS = ["/dashboard/state", "/v1/stats", "/v1/backends", "/v1/fleet", "/v1/events"]

async function gateway(required: boolean) {
  const ollama = await scope.emulator(startOllama({ models: ["llama3.2:latest"] }))
  return scope.nexus({ server: { admin_token: TOKEN }, auth: { required, public_health: true, public_metrics: true }, backends: [backend("ollama", ollama.url, "ollama")] } as never)
}

/** Status of a GET, without waiting for an event stream's body. */
async function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(url, { headers })
  await res.body?.cancel()
  return res.status
}

describe("with [auth] required", () => {
  test("every view needs the admin token; health, metrics and the page itself do not", async () => {
    const n = await gateway(true)
    for (const path of VIEWS) {
      const res = await fetch(`${n.url}${path}`)
      expect(res.status, path).toBe(401)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("admin_token_required")
      expect(await status(`${n.url}${path}`, { authorization: "Bearer wrong-token" }), path).toBe(401)
      expect(await status(`${n.url}${path}`, { authorization: `Bearer ${TOKEN}` }), path).toBe(200)
    }
    for (const path of ["/health", "/metrics"]) expect(await status(`${n.url}${path}`), path).toBe(200)
    // The page loads (its script signs in), without the data it would render.
    const page = await fetch(`${n.url}/dashboard`, { headers: { accept: "text/html" } })
    expect(page.status).toBe(200)
    expect(await page.text()).not.toContain('data-backend="ollama"')
    const signedIn = await (await fetch(`${n.url}/dashboard`, { headers: { accept: "text/html", authorization: `Bearer ${TOKEN}` } })).text()
    expect(signedIn).toContain('data-backend="ollama"')
  })

  test("the page signs in once for a cookie that opens every view, and holds no token", async () => {
    const n = await gateway(true)
    const bad = await n.post("/dashboard/session", { token: "nope" })
    expect(bad.status).toBe(401)
    expect(bad.headers.get("set-cookie")).toBeNull()
    const ok = await n.post("/dashboard/session", { token: TOKEN })
    expect(ok.status).toBe(200)
    const cookie = ok.headers.get("set-cookie")!
    expect(cookie).toContain("HttpOnly")
    expect(cookie).toContain("SameSite=Strict")
    expect(cookie).not.toContain(TOKEN)
    const pair = cookie.split(";")[0]!
    for (const path of VIEWS) expect(await status(`${n.url}${path}`, { cookie: pair }), path).toBe(200)
    // A cookie made up by someone without the token opens nothing.
    expect(await status(`${n.url}/v1/stats`, { cookie: "nexus_admin=00ff" })).toBe(401)
  })

  test("signing in is state-changing: a page on another site cannot, and the body must be JSON", async () => {
    const n = await gateway(true)
    const cross = await n.post("/dashboard/session", { token: TOKEN }, { origin: "https://evil.example" })
    expect(cross.status).toBe(403)
    const plain = await fetch(`${n.url}/dashboard/session`, { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify({ token: TOKEN }) })
    expect(plain.status).toBe(415)
  })
})

test("without [auth] required the views stay open, as before", async () => {
  const n = await gateway(false)
  for (const path of VIEWS) expect(await status(`${n.url}${path}`), path).toBe(200)
})
