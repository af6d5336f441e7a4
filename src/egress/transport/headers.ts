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
  "expect",
])

/** Response headers we never copy from the backend: fetch already decoded the body. */
const RESPONSE_DROP = new Set([...HOP_BY_HOP, "content-encoding", "content-length", "date", "server"])

/** Who may authenticate to the backend: our configured key, else (maybe) the client. */
export interface Credentials {
  apiKey?: string
  /** How the provider carries a key (default `Authorization: Bearer`). */
  auth?(key: string): Record<string, string>
  /** Forward the client's own Authorization when we have no key (default true). */
  forwardClientAuth?: boolean
}

/**
 * Headers for the upstream request. A configured key always wins; the client's own
 * Authorization is forwarded only to backends that have no key of ours and accept it.
 */
export function upstreamHeaders(client: Headers, requestId: string, creds: Credentials = {}): Headers {
  // A native copy, then the few names to drop: cheaper than rebuilding header by header.
  const out = new Headers(client)
  for (const name of client.keys()) if (REQUEST_DROP.has(name) || name.startsWith("x-nexus-")) out.delete(name)
  if (creds.apiKey) {
    const headers = creds.auth ? creds.auth(creds.apiKey) : { authorization: `Bearer ${creds.apiKey}` }
    for (const [k, v] of Object.entries(headers)) out.set(k, v)
  } else if (creds.forwardClientAuth !== false) {
    const auth = client.get("authorization")
    if (auth) out.set("authorization", auth)
  }
  out.set("x-request-id", requestId)
  if (!out.has("content-type")) out.set("content-type", "application/json")
  return out
}

/** Headers for the client response, copied from the backend's. */
export function downstreamHeaders(upstream: Headers): Headers {
  const out = new Headers(upstream)
  for (const name of upstream.keys()) if (RESPONSE_DROP.has(name)) out.delete(name)
  return out
}
