/**
 * Odd input to the admin API: every refusal is a 4xx in the OpenAI envelope with `param`
 * naming the field, never a 500, and values refused in the config file are refused over
 * HTTP with the file's own words.
 */
import { afterEach, describe, expect, test } from "bun:test"
import { parseConfigText } from "../../src/config/load.ts"
import { startNexus, type TestNexus } from "../helpers/nexus.ts"

let cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  await Promise.all(cleanup.map((f) => f()))
  cleanup = []
})
async function nexus(): Promise<TestNexus> {
  const n = await startNexus({})
  cleanup.push(() => n.stop(0))
  return n
}

/** Nothing listens on the discard port: refused input must never get as far as contacting it. */
const NOWHERE = "http://127.0.0.1:9"

type Envelope = { error: { message: string; type: string; param: string | null; code: string | null } }

/** The response is `status` with exactly the OpenAI error envelope; returns the error. */
async function envelope(res: Response, status: number): Promise<Envelope["error"]> {
  expect(res.status).toBe(status)
  const body = (await res.json()) as Envelope
  expect(Object.keys(body)).toEqual(["error"])
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"])
  expect(body.error.message).toBeString()
  expect(body.error.type).toBeString()
  return body.error
}

/** What the config file says about `key = value` in a [[backends]] table, without the location. */
function fileMessage(key: string, value: string): string {
  try {
    parseConfigText(`[[backends]]\nname = "a"\nurl = "${NOWHERE}"\ntype = "vllm"\n${key} = ${value}\n`, "n.toml")
  } catch (err) {
    return (err as Error).message.split("\n")[1]!.replace(/^\s*n\.toml:\d+: backends\[0\]\./, "")
  }
  throw new Error(`the file accepted ${key} = ${value}`)
}

const backends = async (n: TestNexus) => ((await (await n.get("/v1/backends")).json()) as { backends: unknown[] }).backends

describe("POST /v1/backends: numbers", () => {
  test("out-of-range priority and max_concurrent are a 400 in the config file's words, not a 500", async () => {
    const n = await nexus()
    const cases: [string, number, string][] = [
      ["priority", 5000, "5000"],
      ["priority", -1001, "-1001"],
      ["priority", 1e20, "1e20"],
      ["max_concurrent", 1_000_000, "1000000"],
      ["max_concurrent", 0, "0"],
    ]
    for (const [field, value, toml] of cases) {
      const err = await envelope(await n.post("/v1/backends", { url: NOWHERE, type: "vllm", [field]: value }), 400)
      expect(err.param).toBe(field)
      expect(err.message).toBe(fileMessage(field, toml))
    }
    expect(await backends(n)).toEqual([])
  })

  test("floats, strings, null, booleans and non-finite numbers are refused with the allowed range", async () => {
    const n = await nexus()
    const range = { priority: fileMessage("priority", "5000").split(", got")[0], max_concurrent: fileMessage("max_concurrent", "0").split(", got")[0] }
    const bodies: [keyof typeof range, string][] = [
      ["priority", "1.5"],
      ["priority", '"5"'],
      ["priority", '"NaN"'],
      ["priority", "null"],
      ["priority", "1e400"], // JSON.parse gives Infinity
      ["max_concurrent", "2.5"],
      ["max_concurrent", "true"],
      ["max_concurrent", "[4]"],
      ["max_concurrent", '{"n":4}'],
    ]
    for (const [field, raw] of bodies) {
      const res = await n.post("/v1/backends", `{"url":"${NOWHERE}","type":"vllm","${field}":${raw}}`)
      const err = await envelope(res, 400)
      expect(err.param).toBe(field)
      expect(err.message.startsWith(`${range[field]}, got `)).toBe(true)
    }
    expect(await backends(n)).toEqual([])
  })
})

describe("POST /v1/backends: URLs", () => {
  test("a URL that is not valid UTF-8 (%XX escapes, raw bytes, lone surrogates, U+FFFD) is a 400", async () => {
    const n = await nexus()
    for (const url of [`${NOWHERE}/%ff`, `${NOWHERE}/%C3%28`, `${NOWHERE}/a%E2%82`, `${NOWHERE}/a\ud800`, `${NOWHERE}/a\ufffd`]) {
      const err = await envelope(await n.post("/v1/backends", { url, type: "vllm" }), 400)
      expect(err.param).toBe("url")
      expect(err.message).toContain("url: expected a URL of valid UTF-8")
    }
    const raw = Buffer.concat([Buffer.from(`{"type":"vllm","url":"${NOWHERE}/`), Buffer.from([0xff, 0xc3]), Buffer.from('"}')])
    const res = await fetch(`${n.url}/v1/backends`, { method: "POST", headers: { "content-type": "application/json" }, body: raw })
    // Bytes that are not UTF-8 are refused for the whole body, before any field is read.
    expect((await envelope(res, 400)).code).toBe("invalid_encoding")
    expect(await backends(n)).toEqual([])
    // Escaped UTF-8 is fine.
    expect((await n.post("/v1/backends", { url: `${NOWHERE}/caf%C3%A9`, type: "vllm" })).status).toBe(201)
  })
})

describe("every admin error is the OpenAI envelope with param naming the field", () => {
  test("POST /v1/backends", async () => {
    const n = await nexus()
    const cases: [unknown, number, string | null, string][] = [
      [{}, 400, "url", "url: missing required field"],
      [{ url: NOWHERE, typo: 1 }, 400, "typo", "unknown field `typo`"],
      [{ url: NOWHERE, priorty: 1 }, 400, "priorty", "did you mean `priority`?"],
      [{ url: NOWHERE, type: "nope" }, 400, "type", "type: expected one of: ollama"],
      [{ url: NOWHERE, name: "a b" }, 400, "name", "name: expected letters"],
      [{ url: NOWHERE, api_key_env: "1X" }, 400, "api_key_env", "api_key_env: expected the name of an environment variable"],
      [{ url: "ftp://x" }, 400, "url", "url: expected an http:// or https:// URL"],
      [{ url: NOWHERE }, 422, "url", "no LLM server recognised"],
      ["[1]", 400, null, "JSON object"],
      ["{", 400, null, "not valid JSON"],
    ]
    for (const [body, status, param, words] of cases) {
      const err = await envelope(await n.post("/v1/backends", body), status)
      expect([err.param, err.message.includes(words)]).toEqual([param, true])
    }
    expect((await n.post("/v1/backends", { url: NOWHERE, type: "vllm", name: "one" })).status).toBe(201)
    const sameUrl = await envelope(await n.post("/v1/backends", { url: `${NOWHERE}/`, type: "vllm" }), 409)
    expect(sameUrl.param).toBe("url")
    const sameName = await envelope(await n.post("/v1/backends", { url: `${NOWHERE}/x`, type: "vllm", name: "one" }), 409)
    expect(sameName.param).toBe("name")
  })

  test("a URL with its scheme's default port is the same server as one without, and only that port", async () => {
    const n = await nexus()
    for (const [first, second] of [["https://127.0.0.1", "https://localhost:443/"], ["http://127.0.0.1", "http://127.0.0.1:80"]] as const) {
      expect((await n.post("/v1/backends", { url: first, type: "vllm" })).status).toBe(201)
      expect((await envelope(await n.post("/v1/backends", { url: second, type: "vllm" }), 409)).param).toBe("url")
    }
    // Port 80 over https is another server than https's own 443.
    expect((await n.post("/v1/backends", { url: "https://127.0.0.1:80", type: "vllm", name: "tls-on-80" })).status).toBe(201)
  })

  test("odd ids on /v1/backends/:id, drain and undrain: a short 404 naming `id`", async () => {
    const n = await nexus()
    const ids = ["%ff", "%", "%00", "%E0%A4%A", "a%2Fb", "%F0%9F%92%A9", "x".repeat(5000)]
    for (const id of ids) {
      const requests = [
        fetch(`${n.url}/v1/backends/${id}`),
        fetch(`${n.url}/v1/backends/${id}`, { method: "DELETE" }),
        fetch(`${n.url}/v1/backends/${id}/drain`, { method: "POST" }),
        fetch(`${n.url}/v1/backends/${id}/undrain`, { method: "POST" }),
      ]
      for (const res of await Promise.all(requests)) {
        const err = await envelope(res, 404)
        expect([err.param, err.code]).toEqual(["id", "backend_not_found"])
        expect(err.message.length).toBeLessThan(120)
        expect(err.message).not.toContain("\u0000")
      }
    }
  })

  test("reload ignores its body; unknown admin routes are 404s, wrong methods 405s, in the envelope", async () => {
    const n = await nexus()
    expect((await n.post("/v1/admin/reload", "not json at all")).status).toBe(200)
    await envelope(await fetch(`${n.url}/v1/backends`, { method: "PUT" }), 405)
    await envelope(await n.post("/v1/backends/a/b/drain", {}), 404)
  })
})
