/**
 * Who holds a Responses conversation, and what the encoder keeps of it. A response
 * Nexus made (by translating) is in its store: a continuation is rebuilt from there
 * (earlier input and output, then the new input) and must be translated again, never
 * sent to a server that has not seen it. A response Nexus does not hold may be a native
 * server's own: only such a server can continue it.
 * @module
 */
import { NexusError } from "../../core/errors.ts"
import type { ResponseStore } from "../../persist/responses.ts"

type Obj = Record<string, unknown>

/** What the Responses encoder needs from the request. */
export interface ResponsesCarry {
  /** Where to keep the response, when it is to be kept. */
  store?: ResponseStore
  /** The whole conversation before the response, as input items. */
  input: Obj[]
  previousResponseId: string | null
  /** The client asked for reasoning summaries (`reasoning.summary`). */
  summary: boolean
}

export interface Conversation {
  /** Input items: the stored turns (when Nexus holds them), then the request's own. */
  items: unknown[]
  /** How many of `items` came from the store (the request's own follow). */
  stored: number
  /** Which backends may serve it (see CanonicalRequest.native). */
  native?: "never" | "only"
  carry: ResponsesCarry
}

function bad(message: string, param: string): NexusError {
  return new NexusError({ kind: "invalid_request", message, code: "invalid_request", param })
}

/** The request's input as a list of items. */
function inputItems(input: unknown): unknown[] {
  if (typeof input === "string") return [{ type: "message", role: "user", content: input }]
  if (Array.isArray(input)) return input
  throw bad("input must be a string or a list of items", "input")
}

export function conversationOf(body: Obj, store: ResponseStore | undefined): Conversation {
  const previous = body.previous_response_id
  if (previous !== undefined && previous !== null && (typeof previous !== "string" || !previous)) {
    throw bad("previous_response_id must be the id of an earlier response", "previous_response_id")
  }
  const own = inputItems(body.input)
  const keep = body.store !== false && store?.enabled() ? store : undefined
  const reasoning = body.reasoning
  const summary = typeof reasoning === "object" && reasoning !== null && typeof (reasoning as Obj).summary === "string"
  if (typeof previous !== "string") {
    return { items: own, stored: 0, carry: { store: keep, input: own as Obj[], previousResponseId: null, summary } }
  }
  const stored = store?.get(previous)
  if (!stored) return { items: own, stored: 0, native: "only", carry: { store: keep, input: own as Obj[], previousResponseId: previous, summary } }
  const output = Array.isArray(stored.response.output) ? (stored.response.output as Obj[]) : []
  const items = [...stored.input, ...output, ...own]
  return { items, stored: items.length - own.length, native: "never", carry: { store: keep, input: items as Obj[], previousResponseId: previous, summary } }
}
