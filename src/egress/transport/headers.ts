/**
 * Which headers cross the proxy. Hop-by-hop headers (RFC 9110 §7.6.1) never do; our
 * own routing headers and the client's credentials are decided per backend.
 * @module
 */

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
])

/** Request headers we never copy from the client: the backend gets its own Host (Ollama
 * answers 403 to a foreign one), its own length, and our fetch negotiates encoding. */
const REQUEST_DROP = new Set([
  ...HOP_BY_HOP,
  "host",
  "content-length",
  "accept-encoding",
  "authorization",
  "x-api-key",
  "cookie",
  "set-cookie",
  "expect",
])

/**
 * Response headers we never copy from the backend: fetch already decoded the body, and a
 * backend's cookies belong to its origin, not to ours.
 */
const RESPONSE_DROP = new Set([...HOP_BY_HOP, "content-encoding", "content-length", "date", "server", "set-cookie"])

/** Who may authenticate to the backend: our configured key, else (maybe) the client. */
export interface Credentials {
  apiKey?: string
  /** How the provider carries a key (default `Authorization: Bearer`). */
  auth?(key: string): Record<string, string>
  /** Forward the client's own Authorization when we have no key (default true). */
  forwardClientAuth?: boolean
}

/** Header names and values as a plain object: what fetch and Response take cheapest. */
export type HeaderMap = Record<string, string>

/**
 * Headers for the upstream request. A configured key always wins; the client's own
 * Authorization is forwarded only to backends that have no key of ours and accept it,
 * and never when it is the client's key to Nexus itself (`nexusKey`).
 */
export function upstreamHeaders(client: Headers, requestId: string, creds: Credentials = {}, nexusKey = false): HeaderMap {
  // Bun's toJSON is one native call; a Headers copy plus deletes costs several.
  const given = client.toJSON()
  const out: HeaderMap = {}
  for (const name in given) if (!REQUEST_DROP.has(name) && !name.startsWith("x-nexus-")) out[name] = given[name]!
  if (creds.apiKey) {
    const headers = creds.auth ? creds.auth(creds.apiKey) : { authorization: `Bearer ${creds.apiKey}` }
    for (const k in headers) out[k.toLowerCase()] = headers[k]!
  } else if (creds.forwardClientAuth !== false && !nexusKey) {
    const auth = given.authorization
    if (auth) out.authorization = auth
  }
  out["x-request-id"] = requestId
  if (out["content-type"] === undefined) out["content-type"] = "application/json"
  return out
}

/** Headers for the client response, from the backend's (as `Headers.toJSON()` gives them). */
export function downstreamHeaders(given: HeaderMap): HeaderMap {
  const out: HeaderMap = {}
  for (const name in given) if (!RESPONSE_DROP.has(name)) out[name] = given[name]!
  return out
}

/** Anything but tab and printable ASCII: not allowed (or not portable) in a header value. */
const UNSAFE = /[^\t\x20-\x7e]/

/**
 * A name (a backend's, a model's) as a header value every client accepts: unchanged when
 * it is printable ASCII, else its UTF-8 percent-encoded (RFC 3986), `%` included, so
 * `decodeURIComponent` gives the name back. Names come from backends and may hold
 * anything: CR, LF and NUL would be header injection, and non-ASCII makes fetch throw.
 */
export function headerValue(name: string): string {
  if (!UNSAFE.test(name)) return name
  let out = ""
  for (const byte of encoder.encode(name)) {
    out += byte > 0x20 && byte < 0x7f && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
  }
  return out
}

const encoder = new TextEncoder()
