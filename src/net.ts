/**
 * This machine on the network: which names and addresses are its own, and the address
 * other machines reach it by. Shared by backend matching, discovery and the advertiser.
 * @module
 */
import { networkInterfaces } from "node:os"

/** localhost, 127.x and ::1 (brackets allowed). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase()
  return h === "localhost" || h === "::1" || h.startsWith("127.")
}

let own: { at: number; set: Set<string> } | undefined

/** One of this machine's interface addresses (cached briefly: interfaces rarely change). */
export function isOwnAddress(host: string): boolean {
  if (!own || Date.now() - own.at > 30_000) {
    const set = new Set<string>()
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) set.add(a.address.toLowerCase())
    own = { at: Date.now(), set }
  }
  return own.set.has(host.replace(/^\[|\]$/g, "").toLowerCase())
}

/** The first non-loopback IPv4 address: how the LAN reaches us, if it can at all. */
export function lanAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address
  }
  return undefined
}
