/**
 * Reading a JSON request body within the configured limit, with errors that say
 * exactly what was wrong in the OpenAI envelope.
 * @module
 */
import { NexusError } from "../core/errors.ts"
import { schedule, withdraw, type Deadline } from "../egress/transport/deadlines.ts"

/**
 * The client went away (or Bun cut the connection) while we were still reading its
 * request: normal life for a server, never a bug. `app.ts` logs it at debug level and
 * counts it; there is nobody left to answer.
 */
export class ClientClosed extends Error {
  constructor(readonly stage: "request_body" | "queue" | "handler") {
    super(`client closed the connection (${stage})`)
    this.name = "ClientClosed"
  }
}

/** Bun rejects body reads with a DOMException AbortError when the connection closes. */
export function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === "AbortError" || err.name === "ClientClosed")
}

// Fatal: a body that is not UTF-8 is refused rather than silently turned into U+FFFD
// and forwarded as something the client never sent.
const utf8 = new TextDecoder("utf-8", { fatal: true })

/** Callers pass `server.request_timeout_seconds`; this is its default. */
const DEFAULT_BODY_TIMEOUT_MS = 300_000

/**
 * Read the body as text, refusing anything over `limit` bytes before buffering it and
 * anything that has not fully arrived within `timeoutMs` (a stalled or trickling upload
 * would otherwise hold the request open for as long as the client likes).
 */
export function readBodyText(req: Request, limit: number, timeoutMs = DEFAULT_BODY_TIMEOUT_MS): Promise<string> {
  const declared = req.headers.get("content-length")
  if (declared !== null && Number(declared) > limit) return Promise.reject(tooLarge(limit))
  if (!req.body) return Promise.resolve("")
  // A declared length was checked above, so that body is read natively in one go; a
  // chunked one is counted as it arrives, so a huge body is refused, not buffered.
  const reader = declared === null ? (req.body.getReader() as BodyReader) : undefined
  const reading = reader ? readCounted(reader, limit) : req.arrayBuffer()
  const read = new BodyRead(req, reader, timeoutMs)
  reading.then(
    (bytes) => read.done(bytes),
    (err) => read.failed(err)
  )
  return read.text
}

/**
 * One body being read: whichever comes first, the bytes or the deadline, settles `text`.
 * It is its own deadline and holds its promise's resolvers, since one runs per request
 * (an async function around a promise and a closure would allocate several objects a read).
 */
class BodyRead implements Deadline {
  readonly at: number
  slot = -1
  readonly text: Promise<string>
  private readonly resolve: (text: string) => void
  private readonly reject: (err: unknown) => void

  constructor(
    private readonly req: Request,
    private readonly reader: BodyReader | undefined,
    private readonly timeoutMs: number
  ) {
    const { promise, resolve, reject } = Promise.withResolvers<string>()
    this.text = promise
    this.resolve = resolve
    this.reject = reject
    this.at = performance.now() + timeoutMs
    schedule(this)
  }

  expire(): void {
    this.reader?.cancel().catch(() => {})
    this.reject(timedOut(this.timeoutMs))
  }

  done(bytes: ArrayBuffer | Uint8Array): void {
    withdraw(this)
    try {
      this.resolve(utf8.decode(bytes))
    } catch {
      this.reject(
        new NexusError({
          kind: "invalid_request",
          message: "Request body is not valid UTF-8; send JSON encoded as UTF-8.",
          code: "invalid_encoding",
        })
      )
    }
  }

  failed(err: unknown): void {
    withdraw(this)
    if (err instanceof NexusError) this.reject(err)
    else if (isAbort(err) || this.req.signal.aborted) this.reject(new ClientClosed("request_body"))
    else this.reject(err)
  }
}

type BodyReader = ReadableStreamDefaultReader<Uint8Array>

async function readCounted(reader: BodyReader, limit: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      reader.cancel().catch(() => {})
      throw tooLarge(limit)
    }
    parts.push(value)
  }
  return Buffer.concat(parts)
}

function tooLarge(limit: number): NexusError {
  return new NexusError({
    kind: "too_large",
    message: `Request body is larger than the limit of ${limit} bytes (server.max_body_bytes).`,
    code: "request_too_large",
  })
}

function timedOut(ms: number): NexusError {
  return new NexusError({
    kind: "request_timeout",
    message: `The request body did not arrive within ${ms / 1000} s.`,
    code: "request_timeout",
  })
}

const kindOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`)

/** Parse a JSON object body; anything else is a 400 naming the problem. */
export function parseJsonObject(text: string): Record<string, unknown> {
  if (!text.trim()) {
    throw new NexusError({ kind: "invalid_request", message: "Request body is empty; expected a JSON object.", code: "invalid_json" })
  }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (err) {
    throw new NexusError({
      kind: "invalid_request",
      message: `Request body is not valid JSON: ${(err as Error).message}`,
      code: "invalid_json",
    })
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new NexusError({ kind: "invalid_request", message: `Request body must be a JSON object, not ${kindOf(body)}.`, code: "invalid_json" })
  }
  return body as Record<string, unknown>
}
