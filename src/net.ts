/**
 * This machine on the network: which names and addresses are its own, and the address
 * other machines reach it by. Shared by backend matching, discovery, the advertiser, and
 * whatever must decide whether a client or host is this machine (one loopback rule).
 * @module
 */
import { networkInterfaces } from "node:os"

/** A dotted-quad IPv4 address (decimal, no leading zeros) as its four octets. */
function ipv4(s: string): number[] | undefined {
  const parts = s.split(".")
  if (parts.length !== 4 || !parts.every((p) => /^(?:0|[1-9]\d{0,2})$/.test(p))) return undefined
  const octets = parts.map(Number)
  return octets.every((o) => o <= 255) ? octets : undefined
}

/** An IPv6 address as its eight 16-bit groups; a dotted-quad tail counts as two groups. */
function ipv6(s: string): number[] | undefined {
  const halves = s.split("::")
  if (halves.length > 2) return undefined
  const groups = (half: string): number[] | undefined => {
    if (half === "") return []
    const out: number[] = []
    const parts = half.split(":")
    for (const [i, p] of parts.entries()) {
      const v4 = i === parts.length - 1 && p.includes(".") ? ipv4(p) : undefined
      if (v4) out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
      else if (/^[0-9a-f]{1,4}$/i.test(p)) out.push(Number.parseInt(p, 16))
      else return undefined
    }
    return out
  }
  const head = groups(halves[0]!)
  const tail = halves.length === 2 ? groups(halves[1]!) : []
  if (!head || !tail) return undefined
  const missing = 8 - head.length - tail.length
  // "::" stands for at least one group; without it there must be exactly eight.
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  return [...head, ...Array<number>(missing).fill(0), ...tail]
}

/**
 * A loopback IP address: 127.0.0.0/8, ::1, or 127.x.y.z mapped into IPv6 (::ffff:127.0.0.1,
 * which URL parsing writes as ::ffff:7f00:1), with or without brackets. Only literal
 * addresses: names that merely start with "127." are not.
 */
export function isLoopbackAddress(ip: string | undefined): boolean {
  if (!ip) return false
  const s = ip.replace(/^\[(.*)\]$/, "$1")
  const v4 = ipv4(s)
  if (v4) return v4[0] === 127
  const v6 = ipv6(s)
  if (!v6) return false
  if (v6.slice(0, 7).every((g) => g === 0)) return v6[7] === 1
  const mapped = v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff
  return mapped && v6[6]! >> 8 === 127
}

/**
 * A host that names this machine through loopback: a loopback address, or `localhost`
 * and any name under it (RFC 6761 reserves them for loopback), in any case, with or
 * without the trailing dot of a fully qualified name.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false
  if (isLoopbackAddress(host)) return true
  return /^(?:[^.]+\.)*localhost\.?$/i.test(host)
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
