/**
 * One key per server address, whatever it is called.
 * @module
 */
import { isLoopbackHost, isOwnAddress } from "../net.ts"

/**
 * `scheme://host:port/path` with default ports made canonical, and every name for this
 * machine (localhost, 127.x, ::1, its own LAN addresses) counted as one: a server found
 * on localhost by probing and advertised over mDNS with a LAN address is one server.
 */
export function serverKey(url: string): string {
  try {
    const u = new URL(url)
    const host = u.hostname.replace(/^\[|\]$/g, "")
    const loopback = isLoopbackHost(host) || isOwnAddress(host)
    const port = u.port || (u.protocol === "https:" ? "443" : "80")
    return `${u.protocol}//${loopback ? "loopback" : host.toLowerCase()}:${port}${u.pathname.replace(/\/+$/, "")}`
  } catch {
    return url.replace(/\/+$/, "")
  }
}
