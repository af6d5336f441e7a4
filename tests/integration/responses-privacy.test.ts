/**
 * A Responses conversation Nexus keeps carries its restriction: a turn that continues a
 * restricted one (previous_response_id, or item_reference to its output) is restricted
 * too, whatever model it names, so nothing a restricted turn sent or got back ever
 * reaches the open zone. The cloud's own request log decides.
 */
import { Database } from "bun:sqlite"
import { expect, test } from "bun:test"
import fc from "fast-check"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startOllama, startOpenai, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, type TestNexus } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { readEvents } from "../helpers/sse.ts"

type Obj = Record<string, unknown>
const env = { OPENAI_TEST_KEY: "sk-responses-privacy-0001" }
const scope = testScope()

/** `private:7b` is restricted by policy and served at home; `gpt-4o` only by the cloud; `shared:7b` by both. */
const MODELS = ["private:7b", "local:7b", "shared:7b", "gpt-4o"] as const

async function gateway(dataDir?: string): Promise<{ n: TestNexus; home: Emulator; cloud: Emulator }> {
  const home = await scope.emulator(startOllama({ models: ["private:7b", "local:7b", "shared:7b"], chunks: 2 }))
  const cloud = await scope.emulator(startOpenai({ apiKey: env.OPENAI_TEST_KEY, models: ["gpt-4o", "shared:7b"], chunks: 2 }))
  const n = await scope.nexus(
    {
      routing: { strategy: "priority_only", policies: [{ model_pattern: "private*", privacy: "restricted" }], circuit_breaker: { failure_threshold: 1000, cooldown_seconds: 1 } },
      health_check: { interval_seconds: 3600 },
      backends: [backend("home", home.url, "ollama", { priority: 50 }), backend("cloud", cloud.url, "openai", { api_key_env: "OPENAI_TEST_KEY", priority: 1 })],
    },
    { env, dataDir }
  )
  return { n, home, cloud }
}

/** The response a turn got (a stream's is in its last event). */
async function responseOf(res: Response, stream: boolean): Promise<Obj & { id: string; output: Obj[] }> {
  if (!stream) return (await res.json()) as Obj & { id: string; output: Obj[] }
  const last = (await readEvents(res)).events.at(-1)!
  return (JSON.parse(last.slice(last.indexOf("data:") + 5)) as { response: Obj & { id: string; output: Obj[] } }).response
}

const messageId = (r: { output: Obj[] }) => r.output.find((o) => o.type === "message")!.id as string
const cloudSaw = (cloud: Emulator, from: number) => cloud.stats.bodies.slice(from).join("\n")

test("a continuation of a restricted turn is refused by a cloud-only model, and says why", async () => {
  const { n, home, cloud } = await gateway()
  home.state.reply = "LOCAL-ANSWER-77"
  const first = await n.post("/v1/responses", { model: "private:7b", input: "SECRET-DATA-123" })
  expect(first.status).toBe(200)
  expect(first.headers.get("x-nexus-backend")).toBe("home")
  const { id } = (await first.json()) as { id: string }

  const res = await n.post("/v1/responses", { model: "gpt-4o", previous_response_id: id, input: "continue" })
  const body = (await res.json()) as { error: { code: string; message: string } }
  expect(res.status).toBe(503)
  expect(body.error.code).toBe("privacy_zone_restricted")
  expect(body.error.message).toContain("the conversation this request continues holds restricted content")
  expect(cloud.stats.bodies).toEqual([])
})

test("a continuation of a restricted turn goes home for a model both serve, by previous_response_id or item_reference", async () => {
  const { n, home, cloud } = await gateway()
  home.state.reply = "LOCAL-ANSWER-78"
  const first = (await (await n.post("/v1/responses", { model: "private:7b", input: "SECRET-DATA-456" })).json()) as { id: string; output: Obj[] }

  const byPrevious = await n.post("/v1/responses", { model: "shared:7b", previous_response_id: first.id, input: "continue" })
  expect(byPrevious.status).toBe(200)
  expect(byPrevious.headers.get("x-nexus-backend")).toBe("home")
  const second = (await byPrevious.json()) as { id: string }

  const byItem = await n.post("/v1/responses", { model: "shared:7b", input: [{ type: "item_reference", id: messageId(first) }, { role: "user", content: "go on" }] })
  expect(byItem.status).toBe(200)
  expect(byItem.headers.get("x-nexus-backend")).toBe("home")

  // Sticky: the second turn was open by its model, restricted by what it continued.
  const third = await n.post("/v1/responses", { model: "gpt-4o", previous_response_id: second.id, input: "and now?" })
  expect(third.status).toBe(503)
  expect(cloud.stats.bodies).toEqual([])

  // An open conversation still reaches the cloud.
  const open = await n.post("/v1/responses", { model: "gpt-4o", input: "nothing secret" })
  expect(open.headers.get("x-nexus-backend")).toBe("cloud")
})

test("a turn restricted by X-Nexus-Privacy keeps its continuation home", async () => {
  const { n, cloud } = await gateway()
  const first = await n.post("/v1/responses", { model: "local:7b", input: "SECRET-HEADER-9" }, { "x-nexus-privacy": "restricted" })
  expect(first.status).toBe(200)
  const { id } = (await first.json()) as { id: string }
  const res = await n.post("/v1/responses", { model: "gpt-4o", previous_response_id: id, input: "continue" })
  expect(res.status).toBe(503)
  expect(cloud.stats.bodies).toEqual([])
})

test("a response kept before restriction was recorded is judged by its model's policy", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "nexus-responses-privacy-"))
  // The table as it was before: no restriction column.
  const db = new Database(join(dataDir, "nexus.sqlite"))
  db.run("CREATE TABLE responses (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, input TEXT NOT NULL, response TEXT NOT NULL)")
  const row = (id: string, model: string, text: string) => {
    const hex = id.slice(5)
    const response = { id, object: "response", model, status: "completed", output: [{ type: "message", id: `msg_${hex}_0`, role: "assistant", content: [{ type: "output_text", text: `ANSWER-${text}`, annotations: [] }] }] }
    db.run("INSERT INTO responses VALUES (?, ?, ?, ?)", [id, Date.now(), JSON.stringify([{ role: "user", content: text }]), JSON.stringify(response)])
  }
  row(`resp_${"a".repeat(32)}`, "private:7b", "OLD-SECRET-1")
  row(`resp_${"b".repeat(32)}`, "local:7b", "OLD-OPEN-1")
  db.close()
  const { n, cloud } = await gateway(dataDir)

  const restricted = await n.post("/v1/responses", { model: "gpt-4o", previous_response_id: `resp_${"a".repeat(32)}`, input: "continue" })
  expect(restricted.status).toBe(503)
  const referenced = await n.post("/v1/responses", { model: "gpt-4o", input: [{ type: "item_reference", id: `msg_${"a".repeat(32)}_0` }] })
  expect(referenced.status).toBe(503)
  expect(cloud.stats.bodies).toEqual([])

  const open = await n.post("/v1/responses", { model: "gpt-4o", previous_response_id: `resp_${"b".repeat(32)}`, input: "continue" })
  expect(open.status).toBe(200)
  expect(cloudSaw(cloud, 0)).toContain("OLD-OPEN-1")
})

test("counting the input of a restricted conversation never sends it to an open-zone server", async () => {
  const home = await scope.emulator(startOllama({ models: ["private:7b"] }))
  const rented = await scope.emulator(startVllm({ models: ["counted:7b"] }))
  const n = await scope.nexus({
    routing: { policies: [{ model_pattern: "private*", privacy: "restricted" }] },
    health_check: { interval_seconds: 3600 },
    backends: [backend("home", home.url, "ollama"), backend("rented", rented.url, "vllm", { zone: "open" })],
  })
  const { id } = (await (await n.post("/v1/responses", { model: "private:7b", input: "SECRET-COUNT-5" })).json()) as { id: string }

  const open = await n.post("/v1/responses/input_tokens", { model: "counted:7b", input: "nothing secret" })
  expect(open.headers.get("x-nexus-token-count")).toBe("exact:rented")
  await open.body?.cancel()
  const before = rented.stats.byPath["/tokenize"]
  const held = await n.post("/v1/responses/input_tokens", { model: "counted:7b", previous_response_id: id, input: "continue" })
  expect(held.status).toBe(200)
  expect(held.headers.get("x-nexus-token-count")).toBe("estimate")
  await held.body?.cancel()
  expect(rented.stats.byPath["/tokenize"]).toBe(before)
})

const turn = fc.record({
  model: fc.constantFrom(...MODELS),
  privacy: fc.option(fc.constantFrom("restricted", "open"), { nil: undefined }),
  previous: fc.option(fc.nat(), { nil: undefined }),
  reference: fc.option(fc.nat(), { nil: undefined }),
  stream: fc.boolean(),
  /** Home answers 500, so a request that may leave goes to the cloud. */
  homeFails: fc.boolean(),
})

interface Kept {
  id: string
  item: string
  restricted: boolean
  /** What the turn sent and got back: restricted content when the turn was. */
  marks: string[]
}

test("no restricted content reaches the cloud along any chain of turns", async () => {
  const { n, home, cloud } = await gateway()
  let run = 0
  await fc.assert(
    fc.asyncProperty(fc.array(turn, { minLength: 1, maxLength: 5 }), async (turns) => {
      run++
      const from = cloud.stats.bodies.length
      const kept: Kept[] = []
      for (const [i, t] of turns.entries()) {
        const mark = `SECRET-${run}-${i}.`
        home.state.reply = `ANSWER-${run}-${i}.`
        const previous = t.previous !== undefined && kept.length ? kept[t.previous % kept.length] : undefined
        const referred = t.reference !== undefined && kept.length ? kept[t.reference % kept.length] : undefined
        const input: Obj[] = [...(referred ? [{ type: "item_reference", id: referred.item }] : []), { role: "user", content: mark }]
        const body: Obj = { model: t.model, input, stream: t.stream, ...(previous ? { previous_response_id: previous.id } : {}) }
        home.faults.status = t.homeFails ? 500 : undefined
        const res = await n.post("/v1/responses", body, t.privacy ? { "x-nexus-privacy": t.privacy } : {})
        const restricted = t.model === "private:7b" || t.privacy === "restricted" || !!previous?.restricted || !!referred?.restricted

        expect(res.status).not.toBe(500)
        // Restricted turns go home or are refused; open ones are served wherever their model is.
        const servable = restricted ? t.model !== "gpt-4o" && !t.homeFails : t.model !== "local:7b" || !t.homeFails
        if (servable) expect(res.status).toBe(200)
        else expect(res.status).not.toBe(200)
        if (restricted && t.model === "gpt-4o") expect(res.status).toBe(503)
        if (res.status !== 200) {
          await res.body?.cancel()
          continue
        }
        const backendName = res.headers.get("x-nexus-backend")
        if (restricted) expect(backendName).toBe("home")
        const r = await responseOf(res, t.stream)
        kept.push({ id: r.id, item: messageId(r), restricted, marks: [mark, ...(backendName === "home" ? [home.state.reply] : [])] })
        const seen = cloudSaw(cloud, from)
        for (const k of kept) if (k.restricted) for (const m of k.marks) expect(seen).not.toContain(m)
      }
    }),
    { numRuns: 300 }
  )
}, 120_000)
