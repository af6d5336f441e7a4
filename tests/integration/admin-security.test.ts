/**
 * Secrets and the admin API: a backend added at run time gets an API key only when the
 * configuration pairs that variable with the backend's origin ([server.runtime_api_keys]);
 * the admin token is never a backend key; the pairing is checked again after a restart
 * and on reload. The "backend" is a bare listener that records what it is sent.
 */
import { afterEach, describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseConfigText } from "../../src/config/load.ts"
import type { NexusConfig } from "../../src/config/types.ts"
import { stateFile } from "../../src/persist/state-file.ts"
import { openStore } from "../../src/persist/store.ts"
import { startNexus, type TestNexus } from "../helpers/nexus.ts"
import { eventually } from "../helpers/wait.ts"

let cleanup: (() => unknown)[] = []
afterEach(async () => {
  await Promise.all(cleanup.map(async (f) => await f()))
  cleanup = []
})

interface Hit {
  path: string
  authorization: string | null
}

/** An OpenAI-compatible model list that records every request's path and Authorization. */
function listener() {
  const hits: Hit[] = []
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      hits.push({ path: new URL(req.url).pathname, authorization: req.headers.get("authorization") })
      return Response.json({ object: "list", data: [{ id: "m", object: "model" }] })
    },
  })
  cleanup.push(() => server.stop(true))
  const url = `http://127.0.0.1:${server.port}`
  return { url, hits, sawAny: (secret: string) => hits.some((h) => h.authorization?.includes(secret)) }
}

async function nexus(...args: Parameters<typeof startNexus>): Promise<TestNexus> {
  const n = await startNexus(...args)
  cleanup.push(() => n.stop(0))
  return n
}

const secret = () => `sk-test-${crypto.randomUUID()}`
const add = (n: TestNexus, body: Record<string, unknown>, token?: string) =>
  n.post("/v1/backends", { type: "openai", ...body }, token ? { authorization: `Bearer ${token}` } : {})
const errorOf = async (res: Response) => ((await res.json()) as { error: Record<string, unknown> }).error

describe("api_key_env of backends added at run time", () => {
  test("a variable the configuration does not pair with the backend's origin is refused, and never sent", async () => {
    const l = listener()
    const env = { LEAK_ME: secret(), OTHER_KEY: secret() }
    const n = await nexus({ server: { runtime_api_keys: { OTHER_KEY: ["https://api.example.com"] } } }, { env })

    const unlisted = await add(n, { url: l.url, api_key_env: "LEAK_ME" })
    expect(unlisted.status).toBe(400)
    const e1 = await errorOf(unlisted)
    expect(e1).toMatchObject({ type: "invalid_request_error", param: "api_key_env", code: "api_key_env_not_allowed" })
    expect(e1.message).toContain(`[server.runtime_api_keys] LEAK_ME = ["${l.url}"]`)

    const elsewhere = await add(n, { url: l.url, api_key_env: "OTHER_KEY" })
    expect(elsewhere.status).toBe(400)
    expect((await errorOf(elsewhere)).message).toContain(`OTHER_KEY may be sent only to https://api.example.com, not to ${l.url}`)

    // The same listener added without a key is probed: it has been reached, never with a key.
    expect((await add(n, { url: l.url })).status).toBe(201)
    await eventually(() => l.hits.length > 0)
    expect(l.hits.every((h) => h.authorization === null)).toBe(true)
    expect(l.sawAny(env.LEAK_ME) || l.sawAny(env.OTHER_KEY)).toBe(false)
  })

  test("a paired variable is sent to its origin and refused for any other", async () => {
    const paired = listener()
    const other = listener()
    const env = { PAIRED_KEY: secret() }
    const n = await nexus({ server: { runtime_api_keys: { PAIRED_KEY: [paired.url] } } }, { env })
    expect((await add(n, { url: `${paired.url}/`, api_key_env: "PAIRED_KEY" })).status).toBe(201)
    await eventually(() => paired.hits.length > 0)
    expect(paired.hits[0]!.authorization).toBe(`Bearer ${env.PAIRED_KEY}`)
    // Same host, another port: another origin.
    expect((await add(n, { url: other.url, api_key_env: "PAIRED_KEY" })).status).toBe(400)
    expect(other.hits).toEqual([])
  })

  test("the admin token is never a backend key, even when listed or copied into another variable", async () => {
    const token = "admin-token-1234567"
    // The file refuses to list it.
    expect(() => parseConfigText(`[server.runtime_api_keys]\nNEXUS_ADMIN_TOKEN = ["https://api.example.com"]\n`, "n.toml")).toThrow(
      "server.runtime_api_keys.NEXUS_ADMIN_TOKEN: NEXUS_ADMIN_TOKEN holds the admin token, which is never sent to a backend"
    )
    // A configuration that lists it anyway (built in code, past the file's checks) still refuses it.
    const l = listener()
    const env = { NEXUS_ADMIN_TOKEN: token, COPY_OF_TOKEN: token }
    const keys = { NEXUS_ADMIN_TOKEN: [l.url], COPY_OF_TOKEN: [l.url] }
    const n = await nexus({ server: { admin_token: token, runtime_api_keys: keys } }, { env })
    for (const name of ["NEXUS_ADMIN_TOKEN", "COPY_OF_TOKEN"]) {
      const res = await add(n, { url: l.url, api_key_env: name }, token)
      expect(res.status).toBe(400)
      const err = await errorOf(res)
      expect(err.param).toBe("api_key_env")
      expect(err.message).toContain(`${name} holds the admin token, which is never sent to a backend`)
    }
    expect((await add(n, { url: l.url }, token)).status).toBe(201)
    await eventually(() => l.hits.length > 0)
    expect(l.sawAny(token)).toBe(false)
  })
})

describe("keys of persisted backends are checked again", () => {
  test("after a restart without the pairing, the backend is not restored and its key is never sent", async () => {
    const l = listener()
    const env = { KEY_VAR: secret() }
    const dataDir = mkdtempSync(join(tmpdir(), "nexus-keys-"))
    const first = await nexus({ server: { runtime_api_keys: { KEY_VAR: [l.url] } } }, { env, dataDir })
    expect((await add(first, { url: `${l.url}/keyed`, name: "keyed", api_key_env: "KEY_VAR" })).status).toBe(201)
    expect((await add(first, { url: `${l.url}/plain`, name: "plain" })).status).toBe(201)
    await first.stop(0)
    l.hits.length = 0

    const second = await nexus({}, { env, dataDir })
    // The keyless backend from the same store is probed, so the restore has run.
    await eventually(() => l.hits.some((h) => h.path.startsWith("/plain/")))
    expect(second.deps.registry.get("keyed")).toBeUndefined()
    expect(l.hits.some((h) => h.path.startsWith("/keyed/"))).toBe(false)
    expect(l.sawAny(env.KEY_VAR)).toBe(false)
    const warning = second.logs.find((r) => r.level === "warn" && String(r.msg).includes("keyed"))
    expect(String(warning?.msg)).toContain("KEY_VAR is not allowed for backends added at run time")
  })

  test("rows an older version stored (unpaired key, values now refused) are skipped; startup goes on", async () => {
    const l = listener()
    const env = { OLD_KEY: secret() }
    const dataDir = mkdtempSync(join(tmpdir(), "nexus-old-"))
    const store = openStore(stateFile(dataDir))
    store.saveBackend({ id: "old-keyed", name: "old-keyed", url: l.url, type: "openai", priority: 50, api_key_env: "OLD_KEY" })
    store.saveBackend({ id: "old-range", name: "old-range", url: `${l.url}/range`, type: "openai", priority: 5000 })
    store.saveBackend({ id: "old-url", name: "old-url", url: "not a url", type: "openai", priority: 1, api_key_env: "OLD_KEY" })
    store.saveBackend({ id: "old-fine", name: "old-fine", url: `${l.url}/fine`, type: "openai", priority: 1 })
    store.close()

    const n = await nexus({}, { env, dataDir })
    await eventually(() => l.hits.some((h) => h.path.startsWith("/fine/")))
    expect(n.deps.registry.list().map((b) => b.id)).toEqual(["old-fine"])
    expect(l.sawAny(env.OLD_KEY)).toBe(false)
    const warnings = n.logs.filter((r) => r.level === "warn").map((r) => String(r.msg))
    expect(warnings.some((m) => m.includes("old-keyed") && m.includes("OLD_KEY"))).toBe(true)
    expect(warnings.some((m) => m.includes("old-range") && m.includes("priority"))).toBe(true)
    expect(warnings.some((m) => m.includes("old-url") && m.includes("url: expected an http:// or https:// URL"))).toBe(true)
  })

  test("a reload that removes the pairing takes the backend out; restoring it brings the backend back", async () => {
    const l = listener()
    const env = { KEY_VAR: secret() }
    const dataDir = mkdtempSync(join(tmpdir(), "nexus-reload-keys-"))
    let keys: Record<string, string[]> | undefined = { KEY_VAR: [l.url] }
    const next = async (): Promise<NexusConfig> => ({ ...n.deps.config(), server: { ...n.deps.config().server, runtime_api_keys: keys } })
    const n: TestNexus = await nexus({ server: { runtime_api_keys: keys } }, { env, dataDir, loadConfig: () => next() })
    expect((await add(n, { url: l.url, name: "keyed", api_key_env: "KEY_VAR" })).status).toBe(201)

    keys = undefined
    expect((await n.post("/v1/admin/reload", {})).status).toBe(200)
    expect(n.deps.registry.get("keyed")).toBeUndefined()
    const list = (await (await n.get("/v1/backends")).json()) as { backends: unknown[] }
    expect(list.backends).toEqual([])
    expect(n.logs.some((r) => r.level === "warn" && String(r.msg).includes("KEY_VAR is not allowed"))).toBe(true)

    keys = { KEY_VAR: [l.url] }
    l.hits.length = 0
    expect((await n.post("/v1/admin/reload", {})).status).toBe(200)
    await eventually(() => l.hits.length > 0)
    expect(l.hits[0]!.authorization).toBe(`Bearer ${env.KEY_VAR}`)
    expect(n.deps.registry.get("keyed")?.source).toBe("admin")
  })
})

describe("admin authentication", () => {
  test("the Authorization scheme is case-insensitive (RFC 9110); anything else is still a 401", async () => {
    const token = "s3cret-token-123"
    const n = await nexus({ server: { admin_token: token } })
    const reload = (authorization: string) => n.post("/v1/admin/reload", {}, { authorization })
    for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) {
      expect((await reload(`${scheme} ${token}`)).status).toBe(200)
    }
    expect((await reload(`Bearer \t ${token}`)).status).toBe(200)
    for (const bad of [`Basic ${token}`, `Bearer${token}`, token, `bearer ${token}x`, "bearer "]) {
      const res = await reload(bad)
      expect(res.status).toBe(401)
      expect((await errorOf(res)).type).toBe("authentication_error")
    }
  })
})
