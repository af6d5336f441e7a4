/**
 * A client that asked for one JSON document gets one, or the attempt fails before
 * anything is committed (so the next backend is tried, the breaker and the metrics see a
 * failure, and the client gets a 502 in its own dialect): never a 200 carrying a proxy's
 * HTML page, a cut body, or a stream whose only content is an error.
 * @module
 */
import { StreamAssembler } from "./convert.ts"
import { redactSecret } from "./upstream-error.ts"

/** Documents up to this size are parsed in full; larger ones (embeddings) are checked by their ends. */
const PARSE_LIMIT = 64 * 1024

/** Whitespace JSON allows around a document. */
const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09

const decoder = new TextDecoder()

/**
 * An answer's bytes as the one JSON object every API Nexus proxies answers with: the
 * object (so its usage is read from it, not searched for again), `true` for a large one
 * that looks like an object by its ends, `false` for anything else.
 */
export function documentOf(bytes: Uint8Array): Record<string, unknown> | boolean {
  if (bytes.byteLength > PARSE_LIMIT) {
    let a = 0
    let b = bytes.byteLength - 1
    while (a < b && isSpace(bytes[a]!)) a++
    while (b > a && isSpace(bytes[b]!)) b--
    return bytes[a] === 0x7b && bytes[b] === 0x7d
  }
  try {
    const doc: unknown = JSON.parse(decoder.decode(bytes))
    return typeof doc === "object" && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : false
  } catch {
    return false
  }
}

/** Why an answer to a non-streaming request is not one, for the failure and the log. */
export function notJsonReason(status: number, contentType: string): string {
  return `answered ${status} with a body that is not a JSON document${contentType ? ` (${contentType.split(";")[0]})` : ""}`
}

export type StreamedDocument = { response: Response } | { error: string }

/**
 * An OpenAI stream sent to a request for one document (a server that ignored `stream:
 * false`), read whole and assembled, or the error it carried instead.
 */
export async function streamedDocument(res: Response, secret: string | undefined, maxBytes = Infinity): Promise<StreamedDocument> {
  const doc = await assembled(res, maxBytes)
  if (doc === undefined) return { error: `answered with a stream larger than ${maxBytes} bytes (server.max_frame_bytes)` }
  const e = doc.error
  if (e !== undefined) {
    const message = typeof e === "object" && e !== null ? String((e as { message?: unknown }).message ?? "upstream error") : String(e)
    return { error: `answered with a stream that carried only an error: ${redactSecret(message, secret)}` }
  }
  const json = JSON.stringify(doc)
  const headers = new Headers(res.headers)
  headers.set("content-type", "application/json")
  headers.set("content-length", String(Buffer.byteLength(json)))
  return { response: new Response(json, { status: res.status, headers }) }
}

/** The stream folded as it is read, or undefined (and the body cancelled) once it passes `maxBytes`. */
async function assembled(res: Response, maxBytes: number): Promise<Record<string, unknown> | undefined> {
  const assembler = new StreamAssembler()
  const reader = res.body?.getReader()
  if (!reader) return assembler.end()
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.byteLength
    if (bytes > maxBytes) {
      reader.cancel().catch(() => {})
      return undefined
    }
    assembler.push(value)
  }
  return assembler.end()
}
