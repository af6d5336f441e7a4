/**
 * Client API keys on a running gateway: off by default, then required on every inference
 * route, with rejections in each client dialect that never tell whether a key exists,
 * revocation and rotation that act on the next request, and the secret nowhere but in
 * the answer that made it.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startOllama } from "../../emulators/index.ts"
import { parseConfigText } from "../../src/config/load.ts"
import { bearer, createKey } from "../helpers/keys.ts"
import { backend, chat } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually } from "../helpers/wait.ts"

const scope = testScope()

async function gateway(opts: { required?: boolean; dataDir?: string; auth?: Record<string, boolean> } = {}) {
  const home = await scope.emulator(startOllama({ models: ["llama3.2:latest", "qwen2.5:7b", "secret-model:latest"] }))
  const n = await scope.nexus(
    { auth: { required: opts.required ?? true, ...opts.auth }, backends: [backend("home", home.url, "ollama")] },
    { dataDir: opts.dataDir }
  )
  return { home, n }
}

/** A request to each dialect's chat route, and how its error body names the failure. */
const DIALECTS = {
  openai: { path: "/v1/chat/completions", body: (m: string) => chat(m), type: (b: any) => b.error?.type, message: (b: any) => b.error?.message },
  responses: { path: "/v1/responses", body: (m: string) => ({ model: m, input: "hi" }), type: (b: any) => b.error?.type, message: (b: any) => b.error?.message },
  anthropic: {
    path: "/v1/messages",
    body: (m: string) => ({ model: m, max_tokens: 16, messages: [{ role: "user", content: "hi" }] }),
    type: (b: any) => (b.type === "error" ? b.error?.type : undefined),
    message: (b: any) => b.error?.message,
  },
  ollama: { path: "/api/chat", body: (m: string) => ({ model: m, messages: [{ role: "user", content: "hi" }], stream: false }), type: (b: any) => (typeof b.error === "string" ? "ollama" : undefined), message: (b: any) => b.error },
} as const

describe("keys off (the default)", () => {
  test("no key is asked for or checked, even one that exists (keys may be made before they are required)", async () => {
    const { n } = await gateway({ required: false })
    const k = await createKey(n, { name: "early", models: ["qwen*"] })
    expect((await n.post("/v1/chat/completions", chat("llama3.2"))).status).toBe(200)
    expect((await n.post("/v1/chat/completions", chat("llama3.2"), bearer("nx-not-a-key"))).status).toBe(200)
    expect((await n.post("/v1/chat/completions", chat("llama3.2"), bearer(k.secret))).status).toBe(200)
    expect((await n.get("/v1/models")).status).toBe(200)
  })

  test("[auth] is checked like every table: a wrong value names the key and what is allowed", () => {
    expect(() => parseConfigText("[auth]\nrequired = \"yes\"\n", "nexus.toml")).toThrow(/auth\.required.*expected true or false/s)
    expect(() => parseConfigText("[auth]\nrequird = true\n", "nexus.toml")).toThrow(/required/)
  })
})

describe("keys required", () => {
  test("every dialect answers 401 in its own shape, the same for a missing, unknown, revoked or expired key", async () => {
    const { n, home } = await gateway()
    const revoked = await createKey(n, { name: "gone" })
    expect((await fetch(`${n.url}/v1/keys/gone`, { method: "DELETE" })).status).toBe(200)
    const expired = await createKey(n, { name: "old", expires: "1s" })
    await eventually(async () => (await n.post("/v1/chat/completions", chat("llama3.2"), bearer(expired.secret))).status === 401)
    const served = home.stats.bodies.length
    for (const [name, d] of Object.entries(DIALECTS)) {
      const bodies: string[] = []
      for (const secret of [undefined, "nx-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", revoked.secret, expired.secret]) {
        const headers = { "x-request-id": "same-id", ...(secret ? bearer(secret) : {}) }
        const res = await n.post(d.path, d.body("llama3.2"), headers)
        const body = await res.json()
        expect({ name, status: res.status, type: d.type(body) }).toEqual({ name, status: 401, type: name === "ollama" ? "ollama" : "authentication_error" })
        if (secret) bodies.push(JSON.stringify(body))
      }
      // Unknown, revoked and expired read alike: a guess learns nothing.
      expect(new Set(bodies).size).toBe(1)
    }
    expect(home.stats.bodies.length).toBe(served)
  })

  test("a key works from Authorization: Bearer and from x-api-key, and is never sent on to the backend", async () => {
    const { n, home } = await gateway()
    const k = await createKey(n, { name: "alice" })
    expect(k.secret).toMatch(/^nx-[A-Za-z0-9_-]{43}$/)
    const a = await n.post("/v1/chat/completions", chat("llama3.2"), bearer(k.secret))
    expect(a.status).toBe(200)
    expect(home.stats.lastRequest?.headers.authorization).toBeUndefined()
    const b = await n.post("/v1/messages", DIALECTS.anthropic.body("llama3.2"), { "x-api-key": k.secret, "anthropic-version": "2023-06-01" })
    expect(b.status).toBe(200)
    expect(JSON.stringify(home.stats.lastRequest?.headers)).not.toContain(k.secret)
  })

  test("side routes need a key too, in their dialect; /health and /metrics stay open unless configured", async () => {
    const { n } = await gateway()
    const k = await createKey(n, { name: "alice" })
    const models = await n.get("/v1/models")
    expect(models.status).toBe(401)
    expect(((await models.json()) as any).error.type).toBe("authentication_error")
    const tags = await n.get("/api/tags")
    expect(tags.status).toBe(401)
    expect(typeof ((await tags.json()) as any).error).toBe("string")
    expect((await fetch(`${n.url}/v1/models`, { headers: bearer(k.secret) })).status).toBe(200)
    expect((await fetch(`${n.url}/api/tags`, { headers: bearer(k.secret) })).status).toBe(200)
    expect((await n.post("/v1/nexus/route", chat("llama3.2"))).status).toBe(401)
    expect((await n.post("/v1/messages/count_tokens", DIALECTS.anthropic.body("llama3.2"))).status).toBe(401)
    expect((await n.get("/health")).status).toBe(200)
    expect((await n.get("/metrics")).status).toBe(200)

    const closed = await gateway({ auth: { public_health: false, public_metrics: false } })
    const c = await createKey(closed.n, { name: "bob" })
    expect((await closed.n.get("/health")).status).toBe(401)
    expect((await closed.n.get("/metrics")).status).toBe(401)
    expect((await fetch(`${closed.n.url}/health`, { headers: bearer(c.secret) })).status).toBe(200)
  })

  test("a model outside the key's globs is a 403 in every dialect, and the key can still use its own", async () => {
    const { n, home } = await gateway()
    const k = await createKey(n, { name: "alice", models: "llama*,qwen*" })
    for (const [name, d] of Object.entries(DIALECTS)) {
      const res = await n.post(d.path, d.body("secret-model"), bearer(k.secret))
      const body = await res.json()
      expect({ name, status: res.status, type: d.type(body) }).toEqual({ name, status: 403, type: name === "ollama" ? "ollama" : "permission_error" })
      expect(d.message(body)).toContain("may not use model 'secret-model'")
      expect((await n.post(d.path, d.body("qwen2.5:7b"), bearer(k.secret))).status).toBe(200)
    }
    expect(home.stats.bodies.some((b) => b.includes("secret-model"))).toBe(false)
  })

  test("a key's model lists show only the models its globs allow", async () => {
    const { n } = await gateway()
    const k = await createKey(n, { name: "alice", models: "qwen*" })
    const all = await createKey(n, { name: "bob" })
    const ids = async (path: string, secret: string, pick: (b: any) => string[]) => pick(await (await fetch(`${n.url}${path}`, { headers: bearer(secret) })).json())
    const openai = (b: any) => b.data.map((m: { id: string }) => m.id)
    const ollama = (b: any) => b.models.map((m: { name: string }) => m.name)
    expect(await ids("/v1/models", k.secret, openai)).toEqual(["qwen2.5:7b"])
    expect(await ids("/api/tags", k.secret, ollama)).toEqual(["qwen2.5:7b"])
    expect(await ids("/v1/models", all.secret, openai)).toHaveLength(3)
    expect((await fetch(`${n.url}/v1/models/llama3.2:latest`, { headers: bearer(k.secret) })).status).toBe(404)
  })

  test("revocation and rotation act on the next request of a running server", async () => {
    const { n } = await gateway()
    const k = await createKey(n, { name: "alice" })
    expect((await n.post("/v1/chat/completions", chat("llama3.2"), bearer(k.secret))).status).toBe(200)
    const rotated = (await (await n.post("/v1/keys/alice/rotate", {})).json()) as { secret: string }
    expect(rotated.secret).not.toBe(k.secret)
    expect((await n.post("/v1/chat/completions", chat("llama3.2"), bearer(k.secret))).status).toBe(401)
    expect((await n.post("/v1/chat/completions", chat("llama3.2"), bearer(rotated.secret))).status).toBe(200)
    expect((await fetch(`${n.url}/v1/keys/alice`, { method: "DELETE" })).status).toBe(200)
    expect((await n.post("/v1/chat/completions", chat("llama3.2"), bearer(rotated.secret))).status).toBe(401)
  })

  test("keys survive a restart; only their hash is in the state file", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "nexus-keys-"))
    const first = await gateway({ dataDir })
    const k = await createKey(first.n, { name: "alice", models: ["llama*"], privacy: "restricted", rpm: 60 })
    const gone = await createKey(first.n, { name: "gone" })
    const later = await createKey(first.n, { name: "later", expires: "30d" })
    expect((await fetch(`${first.n.url}/v1/keys/gone`, { method: "DELETE" })).status).toBe(200)
    await first.n.stop(0)
    const file = await Bun.file(join(dataDir, "nexus.sqlite")).arrayBuffer()
    expect(Buffer.from(file).includes(k.secret)).toBe(false)
    const second = await gateway({ dataDir })
    expect((await second.n.post("/v1/chat/completions", chat("llama3.2"), bearer(k.secret))).status).toBe(200)
    const shown = (await (await second.n.get("/v1/keys/alice")).json()) as any
    expect(shown).toMatchObject({ name: "alice", models: ["llama*"], privacy: "restricted", rpm: 60, status: "active" })
    // A revoked key stays revoked, and an expiry stays set.
    expect((await second.n.post("/v1/chat/completions", chat("llama3.2"), bearer(gone.secret))).status).toBe(401)
    expect(((await (await second.n.get("/v1/keys/gone")).json()) as any).status).toBe("revoked")
    expect(typeof later.expires_at).toBe("string")
    expect(((await (await second.n.get("/v1/keys/later")).json()) as any).expires_at).toBe(later.expires_at)
  })
})

describe("the secret stays secret", () => {
  test("never in the log, stats, metrics, key views or events; the key's name is in all of them", async () => {
    const { n } = await gateway()
    const events: string[] = []
    const ctl = new AbortController()
    const stream = fetch(`${n.url}/v1/events`, { signal: ctl.signal }).then(async (res) => {
      const reader = res.body!.getReader()
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        events.push(new TextDecoder().decode(value))
      }
    }).catch(() => {})
    const k = await createKey(n, { name: "alice", rpm: 100 })
    expect((await n.post("/v1/chat/completions", chat("llama3.2"), bearer(k.secret))).status).toBe(200)
    expect((await n.post("/v1/chat/completions", chat("nope"), bearer(k.secret))).status).toBe(404)
    await eventually(() => n.logs.filter((l) => l.key === "alice").length >= 2)
    const stats = await (await n.get("/v1/stats")).text()
    const metrics = await (await n.get("/metrics")).text()
    const list = await (await n.get("/v1/keys")).text()
    await eventually(() => events.join("").includes("alice") || events.length > 0)
    ctl.abort()
    await stream
    for (const [where, text] of Object.entries({ log: JSON.stringify(n.logs), stats, metrics, list, events: events.join("") })) {
      expect({ where, leaked: text.includes(k.secret) || text.includes(k.secret.slice(8)) }).toEqual({ where, leaked: false })
    }
    expect(JSON.parse(stats).keys).toEqual([expect.objectContaining({ name: "alice", usage: expect.objectContaining({ requests: 2, errors: 1 }) })])
    expect(metrics).toContain('nexus_key_requests_total{key="alice",status="200"} 1')
    expect(list).not.toContain("hash")
  })
})
