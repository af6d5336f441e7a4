/**
 * What a well-formed answer looks like to a client of each dialect Nexus speaks, read from
 * the whole response text: the framing (SSE events, NDJSON lines, one JSON document) and
 * the first and last pieces a client's parser insists on.
 */
import { expect } from "bun:test"

export type Dialect = "anthropic" | "openai" | "responses" | "ollama" | "listing"

interface SseEvent {
  event?: string
  data: string
}

/** SSE events with a data line, comments (heartbeats) skipped. */
function sseEvents(text: string): SseEvent[] {
  return text
    .split(/\n\n+/)
    .map((block) => {
      const lines = block.split("\n").filter((l) => l && !l.startsWith(":"))
      const event = lines.find((l) => l.startsWith("event:"))?.slice(6).trim()
      const data = lines
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart())
        .join("\n")
      return { event, data }
    })
    .filter((e) => e.data !== "")
}

const json = (text: string) => JSON.parse(text) as Record<string, unknown>

function anthropic(stream: boolean, text: string): void {
  if (!stream) {
    const msg = json(text)
    expect(msg.type).toBe("message")
    expect(msg.role).toBe("assistant")
    expect(Array.isArray(msg.content)).toBe(true)
    expect(msg.stop_reason).toBeTruthy()
    return
  }
  const events = sseEvents(text)
  for (const e of events) expect(json(e.data).type).toBe(e.event!)
  expect(events[0]!.event).toBe("message_start")
  expect(events.at(-1)!.event).toBe("message_stop")
  expect(events.some((e) => e.event === "message_delta" && (json(e.data).delta as { stop_reason?: string }).stop_reason)).toBe(true)
}

function openai(stream: boolean, text: string): void {
  if (!stream) {
    const body = json(text) as { object: string; choices: { message: { role: string }; finish_reason: string }[] }
    expect(body.object).toBe("chat.completion")
    expect(body.choices[0]!.message.role).toBe("assistant")
    expect(body.choices[0]!.finish_reason).toBeTruthy()
    return
  }
  const data = sseEvents(text).map((e) => e.data)
  expect(data.at(-1)).toBe("[DONE]")
  const chunks = data.slice(0, -1).map((d) => json(d) as { object: string; choices: { finish_reason?: string | null }[] })
  for (const c of chunks) expect(c.object).toBe("chat.completion.chunk")
  expect(chunks.some((c) => c.choices.some((ch) => ch.finish_reason))).toBe(true)
}

function responses(stream: boolean, text: string): void {
  if (!stream) {
    const body = json(text)
    expect(body.object).toBe("response")
    expect(body.status).toBe("completed")
    expect(Array.isArray(body.output)).toBe(true)
    return
  }
  const events = sseEvents(text)
  for (const e of events) expect(json(e.data).type).toBe(e.event ?? json(e.data).type)
  expect(json(events[0]!.data).type).toBe("response.created")
  expect(json(events.at(-1)!.data).type).toBe("response.completed")
}

function ollama(stream: boolean, text: string): void {
  const lines = stream ? text.split("\n").filter(Boolean) : [text]
  const parsed = lines.map(json)
  expect(parsed.at(-1)!.done).toBe(true)
  for (const p of parsed) expect(p.message).toBeDefined()
}

/** Assert that `text`, answered with `contentType`, is what a client of `dialect` can read. */
export function wellFormed(dialect: Dialect, stream: boolean, contentType: string, text: string): void {
  if (dialect === "listing") {
    expect(contentType).toContain("application/json")
    json(text)
    return
  }
  expect(contentType).toContain(stream ? (dialect === "ollama" ? "application/x-ndjson" : "text/event-stream") : "application/json")
  ;({ anthropic, openai, responses, ollama })[dialect](stream, text)
}
