/**
 * Who holds a Responses conversation, and what the encoder keeps of it. A response
 * Nexus made (by translating) is in its store: a continuation (`previous_response_id`,
 * or `item_reference` items naming its output, as the Vercel AI SDK sends them) is
 * rebuilt from there and must be translated again, never sent to a server that has not
 * seen it. A response or item Nexus does not hold may be a native server's own: only such
 * a server can continue it.
 * @module
 */
import { NexusError } from "../../core/errors.ts"
import type { ContinuedConversation, NativeConstraint } from "../../core/request.ts"
import type { ResponseStore, StoredResponse } from "../../persist/responses.ts"

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
  /** Privacy restricted the request (set before encoding): the kept response says so. */
  restricted?: boolean
}

export interface Conversation {
  /** Input items: the stored turns (when Nexus holds them), then the request's own. */
  items: unknown[]
  /** How many of `items` came from the store (the request's own follow). */
  stored: number
  native?: NativeConstraint
  /** The kept responses it continues (previous_response_id, item_reference), for privacy. */
  continues?: ContinuedConversation
  carry: ResponsesCarry
}

/**
 * The ids of a response's output items name the response (`msg_<hex>_<index>` in
 * `resp_<hex>`), so an item a client refers to is found without an index of items.
 */
export function itemId(prefix: string, responseHex: string, index: number): string {
  return `${prefix}_${responseHex}_${index}`
}

const ITEM_ID = /^[a-z]+_([0-9a-f]{32})_\d+$/

function bad(message: string, param: string): NexusError {
  return new NexusError({ kind: "invalid_request", message, code: "invalid_request", param })
}

/** The request's input as a list of items. */
function inputItems(input: unknown): unknown[] {
  if (typeof input === "string") return [{ type: "message", role: "user", content: input }]
  if (Array.isArray(input)) return input
  throw bad("input must be a string or a list of items", "input")
}

const isReference = (it: unknown): it is { type: "item_reference"; id: unknown } => typeof it === "object" && it !== null && (it as Obj).type === "item_reference"

/** The item a reference names and the response that holds it, if Nexus keeps it. */
function referenced(id: unknown, store: ResponseStore | undefined): { item: Obj; row: StoredResponse } | undefined {
  const hex = typeof id === "string" ? ITEM_ID.exec(id)?.[1] : undefined
  const row = hex ? store?.get(`resp_${hex}`) : undefined
  const output = row?.response.output
  const item = Array.isArray(output) ? (output as Obj[]).find((o) => o.id === id) : undefined
  return item && row ? { item, row } : undefined
}

/** The request's items with the references Nexus can resolve replaced by what they name. */
function resolved(own: unknown[], store: ResponseStore | undefined): { items: unknown[]; held: boolean; unknown: boolean; rows: StoredResponse[] } {
  if (!own.some(isReference)) return { items: own, held: false, unknown: false, rows: [] }
  let unknown = false
  const rows: StoredResponse[] = []
  const items = own.map((it) => {
    if (!isReference(it)) return it
    const found = referenced(it.id, store)
    if (!found) {
      unknown = true
      return it
    }
    rows.push(found.row)
    return found.item
  })
  return { items, held: rows.length > 0, unknown, rows }
}

/**
 * What privacy must know of the kept responses a request continues: whether any was
 * restricted, and the models that answered them (a row kept before restriction was
 * recorded is judged by its model's policy alone).
 */
function continuedOf(rows: StoredResponse[]): ContinuedConversation | undefined {
  if (rows.length === 0) return undefined
  const models = [...new Set(rows.map((r) => r.response.model).filter((m): m is string => typeof m === "string"))]
  return { restricted: rows.some((r) => r.restricted === true), models }
}

export function conversationOf(body: Obj, store: ResponseStore | undefined): Conversation {
  const previous = body.previous_response_id
  if (previous !== undefined && previous !== null && (typeof previous !== "string" || !previous)) {
    throw bad("previous_response_id must be the id of an earlier response", "previous_response_id")
  }
  const own = resolved(inputItems(body.input), store)
  const keep = body.store !== false && store?.enabled() ? store : undefined
  const reasoning = body.reasoning
  const summary = typeof reasoning === "object" && reasoning !== null && typeof (reasoning as Obj).summary === "string"
  const carry = (input: unknown[]): ResponsesCarry => ({ store: keep, input: input as Obj[], previousResponseId: typeof previous === "string" ? previous : null, summary })

  const stored = typeof previous === "string" ? store?.get(previous) : undefined
  const foreign = (typeof previous === "string" && !stored) || own.unknown
  const at = typeof previous === "string" && !stored ? "previous_response_id" : "input"
  if (foreign && (stored || own.held)) {
    // Part of it is Nexus's and part is not: no server has the whole conversation.
    const message = `Not found: the ${at === "input" ? "item_reference" : "previous response"} is not kept by Nexus, while the rest of this conversation is.`
    throw new NexusError({ kind: "not_found", message, code: at === "input" ? "item_not_found" : "previous_response_not_found", param: at })
  }
  if (foreign) return { items: own.items, stored: 0, native: { only: at }, carry: carry(own.items) }
  if (!stored) return { items: own.items, stored: 0, native: own.held ? "never" : undefined, continues: continuedOf(own.rows), carry: carry(own.items) }
  const output = Array.isArray(stored.response.output) ? (stored.response.output as Obj[]) : []
  const items = [...stored.input, ...output, ...own.items]
  return { items, stored: items.length - own.items.length, native: "never", continues: continuedOf([stored, ...own.rows]), carry: carry(items) }
}
