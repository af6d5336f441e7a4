/**
 * A request Nexus refuses itself (unknown route, wrong method) on a path a dialect claims
 * is answered in that dialect's envelope, whatever the rest of the path: an Ollama client
 * reads `{"error": "..."}`, an Anthropic one `{"type":"error","error":{...}}`. Elsewhere
 * the canonical (OpenAI) envelope answers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import fc from "fast-check"
import { startNexus, type TestNexus } from "../helpers/nexus.ts"

let nexus: TestNexus

beforeAll(async () => {
  nexus = await startNexus()
})

afterAll(() => nexus.stop(0))

type Envelope = "ollama" | "anthropic" | "openai"

function envelopeOf(body: unknown): Envelope | "other" {
  const b = body as Record<string, unknown>
  if (typeof b.error === "string") return "ollama"
  const err = b.error as Record<string, unknown> | undefined
  if (b.type === "error" && typeof err?.type === "string" && typeof err.message === "string") return "anthropic"
  if (err && typeof err.message === "string" && "code" in err) return "openai"
  return "other"
}

async function refusal(method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; envelope: string }> {
  const res = await fetch(`${nexus.url}${path}`, { method, headers })
  return { status: res.status, envelope: envelopeOf(await res.json()) }
}

/** A path segment of the characters URLs carry unescaped. */
const segment = fc.stringMatching(/^[a-z0-9_-]{1,12}$/)

describe("errors of requests a dialect claims", () => {
  test("a wrong method on an Anthropic path is refused in Anthropic's envelope", async () => {
    expect(await refusal("GET", "/v1/messages")).toEqual({ status: 405, envelope: "anthropic" })
    expect(await refusal("GET", "/v1/messages/count_tokens")).toEqual({ status: 405, envelope: "anthropic" })
  })

  test("an unknown route is refused in the envelope of the dialect that claims its path, for every path", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("/api/", "/v1/messages/", "/v1/nothing/"), segment, fc.constantFrom("GET", "POST", "DELETE"), async (prefix, rest, method) => {
        const want: Envelope = prefix === "/api/" ? "ollama" : prefix === "/v1/messages/" ? "anthropic" : "openai"
        const got = await refusal(method, `${prefix}zz-${rest}`)
        expect({ path: `${prefix}zz-${rest}`, envelope: got.envelope }).toEqual({ path: `${prefix}zz-${rest}`, envelope: want })
        expect([404, 405]).toContain(got.status)
      }),
      { numRuns: 200 }
    )
  })

  test("an Anthropic client (anthropic-version) gets Anthropic's envelope on an unknown /v1 route", async () => {
    expect(await refusal("GET", "/v1/no-such-route", { "anthropic-version": "2023-06-01" })).toEqual({ status: 404, envelope: "anthropic" })
    expect(await refusal("GET", "/v1/no-such-route")).toEqual({ status: 404, envelope: "openai" })
  })
})
