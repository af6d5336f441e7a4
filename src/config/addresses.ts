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

/** True for `scheme://host[:port]` with nothing after it but an optional `/`. */
export function isHttpOrigin(s: string): boolean {
  if (!isHttpUrl(s)) return false
  const u = new URL(s)
  return u.pathname === "/" && !u.search && !u.hash && !u.username && !u.password && !s.endsWith("?") && !s.endsWith("#")
}
