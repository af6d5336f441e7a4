/**
 * What counts as an address in the configuration: a host to bind, a host to probe,
 * a backend URL. Shared by the schema and the flags and variables that override it.
 * @module
 */

/** A name, IPv4 or IPv6 (bare or in brackets), never a URL. */
const HOST = /^(?:[A-Za-z0-9_%.:-]+|\[[0-9A-Fa-f:.%A-Za-z]+\])$/

/** What `server.host`, `--host` and NEXUS_HOST expect. */
export const BIND_HOST_EXPECTED =
  "expected an address to bind, like 0.0.0.0 or 127.0.0.1 (no http://)"

/** True for a host name or address to listen on. */
export function isBindHost(s: string): boolean {
  return HOST.test(s)
}

/** True for `host` or `host:port` (IPv6 bare or as `[addr]:port`), without a scheme or path. */
export function isHostPort(s: string): boolean {
  if (s.includes("://") || s.endsWith(":")) return false
  if (/^[0-9A-Fa-f:]+$/.test(s) && s.split(":").length > 2) return true // bare IPv6
  try {
    const u = new URL(`http://${s}`)
    const plain = u.pathname === "/" && !u.search && !u.hash && !u.username
    return u.hostname !== "" && plain && u.port !== "0"
  } catch {
    return false
  }
}

/** True for an absolute http:// or https:// URL with a host. */
export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s)
    return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== ""
  } catch {
    return false
  }
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true })

/**
 * True when `s` is text a person typed: no U+FFFD (what a decoder leaves of invalid
 * bytes), no lone surrogates, and every run of %XX escapes decodes as UTF-8. The URL
 * parser accepts all three and would store mojibake that no server answers to.
 */
export function isCleanText(s: string): boolean {
  if (!s.isWellFormed() || s.includes("\uFFFD")) return false
  for (const run of s.match(/(?:%[0-9A-Fa-f]{2})+/g) ?? []) {
    const bytes = Uint8Array.from(run.slice(1).split("%"), (h) => parseInt(h, 16))
    try {
      STRICT_UTF8.decode(bytes)
    } catch {
      return false
    }
  }
  return true
}

/** True for `scheme://host[:port]` with nothing after it but an optional `/`. */
export function isHttpOrigin(s: string): boolean {
  if (!isHttpUrl(s)) return false
  const u = new URL(s)
  return u.pathname === "/" && !u.search && !u.hash && !u.username && !u.password && !s.endsWith("?") && !s.endsWith("#")
}
