/**
 * The mDNS wire as multicast-dns (inside bonjour-service) hands it to us: decoded
 * packets, the address each came from, and the record comparisons RFC 6762 needs
 * (name equality, which data counts as "the same", simultaneous-probe tie-breaking).
 * @module
 */
import { isIP } from "node:net"

/** One resource record as multicast-dns decodes it. */
export interface Rr {
  name: string
  type: string
  ttl?: number
  class?: string
  data: unknown
}

export interface SrvData {
  port: number
  target: string
  priority?: number
  weight?: number
}

export interface Packet {
  questions?: { name: string; type: string }[]
  answers?: Rr[]
  authorities?: Rr[]
  additionals?: Rr[]
}

export interface Sender {
  address: string
}

/** The multicast-dns socket inside bonjour-service (not exported by it). */
export interface MulticastDns {
  query(packet: string | Packet | { name: string; type: string }[], type?: string): void
  respond(packet: { answers: Rr[] }): void
  on(event: "response" | "query", listener: (packet: Packet, from: Sender) => void): unknown
  on(event: "error" | "warning", listener: (err: Error) => void): unknown
  removeListener(event: string, listener: (...args: never[]) => void): unknown
}

/** DNS names compare without case and without the root's trailing dot. */
export function sameName(a: string, b: string): boolean {
  return a.replace(/\.$/, "").toLowerCase() === b.replace(/\.$/, "").toLowerCase()
}

/** Every record of a response, answers and additionals alike (DNS-SD puts either). */
export function recordsOf(packet: Packet): Rr[] {
  return [...(packet.answers ?? []), ...(packet.additionals ?? [])]
}

/** TXT strings `key=value`; keys are case-insensitive (RFC 6763 §6.4), values stay as sent. */
export function decodeTxt(data: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  const items = Array.isArray(data) ? data : [data]
  for (const item of items) {
    const text = Buffer.isBuffer(item) ? item.toString("utf8") : typeof item === "string" ? item : ""
    if (!text) continue
    const eq = text.indexOf("=")
    const key = (eq < 0 ? text : text.slice(0, eq)).toLowerCase()
    if (key && !(key in out)) out[key] = eq < 0 ? "" : text.slice(eq + 1)
  }
  return out
}

const TYPE_CODES: Record<string, number> = { A: 1, PTR: 12, TXT: 16, AAAA: 28, SRV: 33 }

function nameBytes(name: string): Buffer {
  const labels = name.replace(/\.$/, "").split(".").filter(Boolean)
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([Buffer.byteLength(l)]), Buffer.from(l)])), Buffer.from([0])])
}

function ipv6Bytes(address: string): Buffer {
  const [head = "", tail = ""] = address.split("::")
  const groups = (s: string) => (s ? s.split(":") : [])
  const h = groups(head)
  const t = groups(tail)
  const all = address.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h
  const out = Buffer.alloc(16)
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) || 0, i * 2))
  return out
}

/** The record's rdata as it goes on the wire, uncompressed (what RFC 6762 §8.2 compares). */
export function rdataBytes(rr: Rr): Buffer {
  if (rr.type === "A" && isIP(String(rr.data)) === 4) return Buffer.from(String(rr.data).split(".").map(Number))
  if (rr.type === "AAAA" && isIP(String(rr.data)) === 6) return ipv6Bytes(String(rr.data))
  if (rr.type === "SRV") {
    const d = rr.data as SrvData
    const head = Buffer.alloc(6)
    head.writeUInt16BE(d.priority ?? 0, 0)
    head.writeUInt16BE(d.weight ?? 0, 2)
    head.writeUInt16BE(d.port, 4)
    return Buffer.concat([head, nameBytes(d.target)])
  }
  return Buffer.from(JSON.stringify(rr.data))
}

function compareOne(a: Rr, b: Rr): number {
  // Class is IN for everything we meet; the type code comes next, then the rdata bytes.
  const t = (TYPE_CODES[a.type] ?? 0) - (TYPE_CODES[b.type] ?? 0)
  return t !== 0 ? Math.sign(t) : Buffer.compare(rdataBytes(a), rdataBytes(b))
}

/**
 * Simultaneous probe tie-break (RFC 6762 §8.2): sort both sets, compare record by record;
 * the lexicographically later set wins. 1: ours wins, -1: theirs wins, 0: identical
 * (the same host probing twice, e.g. two Nexus processes on one machine: no conflict).
 */
export function tieBreak(ours: Rr[], theirs: Rr[]): number {
  const a = [...ours].sort(compareOne)
  const b = [...theirs].sort(compareOne)
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareOne(a[i]!, b[i]!)
    if (c !== 0) return c
  }
  return Math.sign(a.length - b.length)
}
