/**
 * Well-formed JSON with wrong fields: every message is Nexus's own (never valibot's
 * "Invalid key: Expected ..."), names the field in `param` and in the text, and says
 * what is allowed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { expectAlive, expectEnvelope, expectNoErrorLogs, MODEL, startTarget, type Target } from "../helpers/bad-input.ts"

let target: Target

beforeAll(async () => {
  target = await startTarget()
})

afterAll(async () => {
  await target.stop()
})

const msgs = [{ role: "user", content: "hi" }]
const LONG = "m".repeat(10 * 1024)

interface FieldCase {
  name: string
  body: Record<string, unknown>
  param: string
  /** What is allowed, in the message. */
  says: RegExp
  status?: number
}

const CHAT: FieldCase[] = [
  { name: "empty object", body: {}, param: "model", says: /`model` is required: a non-empty string/ },
  { name: "model missing", body: { messages: msgs }, param: "model", says: /`model` is required: a non-empty string/ },
  { name: "model a number", body: { model: 7, messages: msgs }, param: "model", says: /`model` must be a non-empty string/ },
  { name: "model null", body: { model: null, messages: msgs }, param: "model", says: /`model` must be a non-empty string/ },
  { name: "model empty", body: { model: "", messages: msgs }, param: "model", says: /`model` must be a non-empty string/ },
  { name: "model an array", body: { model: [MODEL], messages: msgs }, param: "model", says: /`model` must be a non-empty string/ },
  { name: "messages missing", body: { model: MODEL }, param: "messages", says: /`messages` is required: an array of message objects/ },
  { name: "messages a string", body: { model: MODEL, messages: "hi" }, param: "messages", says: /`messages` must be an array/ },
  { name: "messages an object", body: { model: MODEL, messages: { role: "user" } }, param: "messages", says: /`messages` must be an array/ },
  { name: "messages null", body: { model: MODEL, messages: null }, param: "messages", says: /`messages` must be an array/ },
  { name: "a message that is a number", body: { model: MODEL, messages: [1] }, param: "messages.0", says: /object with a string `role`/ },
  { name: "a message without role", body: { model: MODEL, messages: [{ content: "x" }] }, param: "messages.0.role", says: /string `role`/ },
  { name: "a role that is a number", body: { model: MODEL, messages: [{ role: 1 }] }, param: "messages.0.role", says: /`role`: a string such as "system"/ },
  { name: 'stream: "yes"', body: { model: MODEL, messages: msgs, stream: "yes" }, param: "stream", says: /`stream` must be true or false/ },
  { name: "stream: 1", body: { model: MODEL, messages: msgs, stream: 1 }, param: "stream", says: /`stream` must be true or false/ },
]

const COMPLETIONS: FieldCase[] = [
  { name: "prompt missing", body: { model: MODEL }, param: "prompt", says: /`prompt` is required: a string or an array/ },
  { name: "prompt a number", body: { model: MODEL, prompt: 1 }, param: "prompt", says: /`prompt` must be a string or an array/ },
  { name: "model missing", body: { prompt: "x" }, param: "model", says: /`model` is required/ },
  { name: 'stream: "yes"', body: { model: MODEL, prompt: "x", stream: "yes" }, param: "stream", says: /true or false/ },
]

const EMBEDDINGS: FieldCase[] = [
  { name: "input missing", body: { model: MODEL }, param: "input", says: /`input` is required: a non-empty string or an array of 1 to 2048/ },
  { name: "input a number", body: { model: MODEL, input: 1 }, param: "input", says: /`input` must be a non-empty string or an array/ },
  { name: "input empty", body: { model: MODEL, input: "" }, param: "input", says: /`input` must be a non-empty string/ },
  { name: "input an empty array", body: { model: MODEL, input: [] }, param: "input", says: /array of 1 to 2048/ },
  { name: "input of 2049 items", body: { model: MODEL, input: Array(2049).fill("x") }, param: "input", says: /array of 1 to 2048/ },
  { name: "model a number", body: { model: 1, input: "x" }, param: "model", says: /`model` must be a non-empty string/ },
]

const ROUTES: [string, FieldCase[]][] = [
  ["/v1/chat/completions", CHAT],
  ["/v1/nexus/route", CHAT],
  ["/v1/completions", COMPLETIONS],
  ["/v1/embeddings", EMBEDDINGS],
]

describe.each(ROUTES)("POST %s", (path, cases) => {
  test.each(cases)("$name: 400 naming the field", async ({ body, param, says }) => {
    const res = await target.nexus.post(path, body)
    const { error } = expectEnvelope(res.status, await res.text(), 400)
    expect(error.param).toBe(param)
    expect(error.code).toBe("invalid_request")
    expect(error.message).toMatch(says)
    expect(error.message).not.toMatch(/^Invalid (type|key|length|value)/)
  })
})

describe("a 10 KB model name", () => {
  test.each(["/v1/chat/completions", "/v1/completions", "/v1/embeddings"])("%s: 404 model_not_found", async (path) => {
    const res = await target.nexus.post(path, { model: LONG, messages: msgs, prompt: "x", input: "x" })
    const { error } = expectEnvelope(res.status, await res.text(), 404)
    expect(error.code).toBe("model_not_found")
    expect(error.param).toBe("model")
  })

  test("/v1/nexus/route plans it: not routable, with the reason", async () => {
    const res = await target.nexus.post("/v1/nexus/route", { model: LONG, messages: msgs })
    expect(res.status).toBe(200)
    const plan = (await res.json()) as { routable: boolean; error: { code: string } }
    expect(plan.routable).toBe(false)
    expect(plan.error.code).toBe("model_not_found")
  })
})

test("admin: an unknown field is named with the fields that are allowed", async () => {
  const res = await target.nexus.post("/v1/backends", { url: "http://127.0.0.1:9", colour: "blue" })
  const { error } = expectEnvelope(res.status, await res.text(), 400)
  expect(error.param).toBe("colour")
  expect(error.message).toMatch(/^unknown field `colour`; valid fields: url, name, type/)
})

test("none of it was logged as an error, and Nexus still serves", async () => {
  expectNoErrorLogs(target.nexus)
  await expectAlive(target.nexus)
})
