/**
 * A reload applies every key of a `[[backends]]` entry it reports as updated, to the
 * running backend: what it may serve (`models` globs, at once when narrowed), what it
 * says of its models (`[[backends.models]]`), its key, priority, zone, tier, timeout,
 * concurrency and memory. Each is seen through the HTTP API after `POST /v1/admin/reload`.
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startOllama, startOpenai, type Emulator } from "../../emulators/index.ts"
import { parseConfigText } from "../../src/config/load.ts"
import { chat, type TestNexus } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually } from "../helpers/wait.ts"

const scope = testScope()
const env = { CLOUD_KEY: "sk-reload-right-0001", WRONG_KEY: "sk-reload-wrong-0002" }
type View = { name: string; priority: number; zone: string; max_concurrent: number | null; memory_bytes: number | null; models: { id: string; context_length: number | null }[] }

/** Nexus reading its backends from a file that the test rewrites and then reloads. */
async function withFile(entries: (urls: { cloud: string; home: string }) => string) {
  const cloud = await scope.emulator(startOpenai({ apiKey: env.CLOUD_KEY, models: ["gpt-4o", "gpt-4o-mini", "coder:7b"] }))
  const home = await scope.emulator(startOllama({ models: ["coder:7b"] }))
  const file = join(mkdtempSync(join(tmpdir(), "nexus-reload-backends-")), "nexus.toml")
  // Probes only at start and when asked: nothing a reload needs can come from a later round.
  const write = (backends: string) => writeFileSync(file, `[routing]\nstrategy = "priority_only"\n[health_check]\ninterval_seconds = 3600\n${backends}`)
  write(entries({ cloud: cloud.url, home: home.url }))
  const load = async () => parseConfigText(await Bun.file(file).text(), file)
  const initial = await load()
  const n = await scope.nexus({ routing: initial.routing, health_check: initial.health_check, backends: initial.backends }, { env, loadConfig: load })
  const reload = async (backends: string) => {
    write(backends)
    const res = await fetch(`${n.url}/v1/admin/reload`, { method: "POST" })
    expect(res.status).toBe(200)
    return ((await res.json()) as { changes: string[] }).changes
  }
  return { n, cloud, home, reload, urls: { cloud: cloud.url, home: home.url } }
}

const cloudEntry = (url: string, extra = "") => `[[backends]]\nname = "cloud"\nurl = "${url}"\ntype = "openai"\napi_key_env = "CLOUD_KEY"\n${extra}`
const homeEntry = (url: string, extra = "") => `[[backends]]\nname = "home"\nurl = "${url}"\ntype = "ollama"\n${extra}`

async function view(n: TestNexus, name: string): Promise<View> {
  const { backends } = (await (await n.get("/v1/backends")).json()) as { backends: View[] }
  return backends.find((b) => b.name === name)!
}
const ids = (v: View) => v.models.map((m) => m.id).sort()
const ask = (n: TestNexus, model: string, headers: Record<string, string> = {}) => n.post("/v1/chat/completions", chat(model), headers)

test("models: a narrower list holds at once, a wider one after the reload's own probe", async () => {
  const { n, urls, reload } = await withFile((u) => cloudEntry(u.cloud))
  expect(ids(await view(n, "cloud"))).toEqual(["coder:7b", "gpt-4o", "gpt-4o-mini"])

  expect(await reload(cloudEntry(urls.cloud, 'models = ["gpt-4o"]\n'))).toContain("backend cloud updated")
  expect(ids(await view(n, "cloud"))).toEqual(["gpt-4o"])
  const refused = await ask(n, "coder:7b")
  expect(refused.status).toBe(404)
  await refused.body?.cancel()
  const models = (await (await n.get("/v1/models")).json()) as { data: { id: string }[] }
  expect(models.data.map((m) => m.id)).toEqual(["gpt-4o"])

  await reload(cloudEntry(urls.cloud, 'models = ["gpt-4o", "coder*"]\n'))
  await eventually(async () => ids(await view(n, "cloud")).join() === "coder:7b,gpt-4o")
  expect((await ask(n, "coder:7b")).status).toBe(200)
})

test("[[backends.models]]: a corrected model is seen without waiting for the next probe round", async () => {
  const { n, urls, reload } = await withFile((u) => cloudEntry(u.cloud))
  await reload(cloudEntry(urls.cloud, '[[backends.models]]\nname = "gpt-4o"\ncontext_length = 4321\n'))
  await eventually(async () => (await view(n, "cloud")).models.find((m) => m.id === "gpt-4o")?.context_length === 4321)
})

test("api_key_env: the backend uses the key of the new variable", async () => {
  const bad = (u: string) => `[[backends]]\nname = "cloud"\nurl = "${u}"\ntype = "openai"\napi_key_env = "WRONG_KEY"\n`
  const { n, urls, reload } = await withFile((u) => bad(u.cloud))
  const before = await ask(n, "gpt-4o")
  expect(before.status).not.toBe(200)
  await before.body?.cancel()
  expect(await reload(cloudEntry(urls.cloud))).toContain("backend cloud replaced")
  await eventually(async () => (await view(n, "cloud")).models.length > 0)
  expect((await ask(n, "gpt-4o")).status).toBe(200)
})

test("priority, zone and tier: routing follows them at once", async () => {
  const both = (u: { cloud: string; home: string }, cloud: string, home: string) => cloudEntry(u.cloud, cloud) + homeEntry(u.home, home)
  const { n, urls, reload } = await withFile((u) => both(u, "", "tier = 1\n"))
  // Restricted requests stay home while the cloud is in the open zone.
  expect((await ask(n, "coder:7b", { "x-nexus-privacy": "restricted" })).headers.get("x-nexus-backend")).toBe("home")

  await reload(both(urls, 'zone = "restricted"\npriority = -10\ntier = 4\n', "tier = 1\n"))
  expect(await view(n, "cloud")).toMatchObject({ zone: "restricted", priority: -10 })
  expect((await ask(n, "coder:7b", { "x-nexus-privacy": "restricted" })).headers.get("x-nexus-backend")).toBe("cloud")
  expect((await ask(n, "coder:7b", { "x-nexus-min-tier": "3" })).headers.get("x-nexus-backend")).toBe("cloud")

  await reload(both(urls, 'zone = "restricted"\npriority = 90\ntier = 1\n', "tier = 1\npriority = 1\n"))
  expect((await ask(n, "coder:7b")).headers.get("x-nexus-backend")).toBe("home")
  const refused = await ask(n, "coder:7b", { "x-nexus-min-tier": "3" })
  expect(refused.status).toBe(503)
  await refused.body?.cancel()
})

test("max_concurrent, memory_gb and timeout_seconds apply to the running backend", async () => {
  const { n, home, urls, reload } = await withFile((u) => homeEntry(u.home))
  expect(await view(n, "home")).toMatchObject({ max_concurrent: null, memory_bytes: null })
  await reload(homeEntry(urls.home, "max_concurrent = 3\nmemory_gb = 2\ntimeout_seconds = 1\n"))
  expect(await view(n, "home")).toMatchObject({ max_concurrent: 3, memory_bytes: 2 * 1024 ** 3 })
  // A server slower than the new timeout: the attempt is cut, the client told so.
  home.state.latencyMs = 30_000
  const res = await ask(n, "coder:7b")
  expect(res.status).toBeGreaterThanOrEqual(502)
  expect(res.status).not.toBe(500)
  await res.body?.cancel()
}, 20_000)

test("models, for any sequence of lists: the cloud serves exactly what the current list allows, a narrower one at once", async () => {
  const { n, cloud, urls, reload } = await withFile((u) => cloudEntry(u.cloud))
  const ALL = ["coder:7b", "gpt-4o", "gpt-4o-mini"]
  const allowedBy = (globs: string[] | undefined) =>
    globs === undefined ? ALL : ALL.filter((m) => globs.some((g) => new RegExp(`^${g.replace(/[.]/g, "\\.").replace(/\*/g, ".*")}$`).test(m)))
  const list = fc.option(fc.subarray(["gpt-4o", "gpt-4o-mini", "coder:7b", "gpt-*", "coder*"], { minLength: 1 }), { nil: undefined })
  let current = ALL
  await fc.assert(
    fc.asyncProperty(list, fc.constantFrom(...ALL), async (globs, model) => {
      await reload(cloudEntry(urls.cloud, globs === undefined ? "" : `models = ${JSON.stringify(globs)}\n`))
      const want = allowedBy(globs)
      // A narrower (or equal) list holds when the reload returns; a wider one after its probe.
      if (want.every((m) => current.includes(m))) expect(ids(await view(n, "cloud"))).toEqual(want)
      else await eventually(async () => ids(await view(n, "cloud")).join() === want.join(), 5000, "the wider list probed")
      current = want
      const before = cloud.stats.bodies.length
      const res = await ask(n, model)
      await res.text()
      expect({ globs, model, status: res.status }).toEqual({ globs, model, status: want.includes(model) ? 200 : 404 })
      expect(cloud.stats.bodies.length - before).toBe(want.includes(model) ? 1 : 0)
    }),
    { numRuns: 25 }
  )
}, 60_000)
