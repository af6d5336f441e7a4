/**
 * Claiming names on the LAN the way RFC 6762 prescribes, which bonjour-service does not:
 * probe before using a name (§8.1), break ties between hosts that probe at the same time
 * (§8.2), and on a conflict pick the next name and remember it (§9). Two Raspberry Pis
 * both called `raspberrypi` thus end up as `raspberrypi.local` and `raspberrypi-2.local`,
 * and keep those names across restarts.
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { networkInterfaces } from "node:os"
import { dirname } from "node:path"
import { realClock, type Clock } from "../core/clock.ts"
import { isOwnAddress } from "../net.ts"
import { recordsOf, sameName, tieBreak, type MulticastDns, type Packet, type Rr } from "./mdns-wire.ts"

const PROBE_INTERVAL_MS = 250
/** How long the loser of a tie-break waits before probing again (RFC 6762 §8.2). */
const LOST_TIE_WAIT_MS = 1000

export interface ProbeSpec {
  /** The name being claimed: `raspberrypi.local`, or a service instance's full name. */
  name: string
  /** The records we mean to publish under it, sent in the probes' authority section. */
  records: Rr[]
  /** Whether a record another responder answered with makes the name theirs. */
  conflicts(rr: Rr): boolean
  /** Question types besides ANY (python-zeroconf answers host names only when asked for A). */
  alsoAsk?: string[]
}

/**
 * Probe `spec.name`: three queries 250 ms apart after a random delay. Resolves true when
 * someone else answers with conflicting data, or wins the tie-break repeatedly.
 */
export function probe(socket: MulticastDns, spec: ProbeSpec, onError: (err: Error) => void, clock: Clock = realClock): Promise<boolean> {
  return new Promise((resolve) => {
    let sent = 0
    let losses = 0
    let waiting = false
    let timer: unknown
    const finish = (taken: boolean) => {
      clock.clearTimeout(timer)
      socket.removeListener("response", onResponse)
      socket.removeListener("query", onQuery)
      resolve(taken)
    }
    const onResponse = (packet: Packet) => {
      const live = recordsOf(packet).filter((rr) => sameName(rr.name, spec.name) && (rr.ttl ?? 1) > 0)
      if (live.some((rr) => spec.conflicts(rr))) finish(true)
    }
    // Another host probing the same name right now: the lexicographically later data
    // wins; identical data (this very probe, looped back) is no conflict at all.
    const onQuery = (packet: Packet) => {
      const theirs = (packet.authorities ?? []).filter((rr) => sameName(rr.name, spec.name))
      if (!theirs.length || tieBreak(spec.records, theirs) >= 0) return
      clock.clearTimeout(timer)
      if (!waiting && ++losses > 3) return finish(true)
      waiting = true
      sent = 0
      timer = clock.setTimeout(send, LOST_TIE_WAIT_MS)
    }
    const send = () => {
      waiting = false
      if (sent === 3) return finish(false)
      try {
        const questions = ["ANY", ...(spec.alsoAsk ?? [])].map((type) => ({ name: spec.name, type }))
        socket.query({ questions, authorities: spec.records })
      } catch (err) {
        onError(err as Error)
      }
      sent++
      timer = clock.setTimeout(send, PROBE_INTERVAL_MS)
    }
    socket.on("response", onResponse)
    socket.on("query", onQuery)
    // A random first delay keeps hosts that power up together from probing in lockstep.
    timer = clock.setTimeout(send, Math.random() * PROBE_INTERVAL_MS)
  })
}

/** The first label of the machine's hostname, as a DNS label (`raspberrypi`). */
export function hostLabel(hostname: string): string {
  const clean = (hostname.split(".")[0] ?? "").replace(/[^A-Za-z0-9-]/g, "-").replace(/^-+|-+$/g, "")
  return clean || "nexus"
}

/** Names to try, in order: the one chosen last time, the hostname, then `-2`, `-3`, ... */
export function hostCandidates(base: string, remembered?: string, count = 9): string[] {
  const names = [base, ...Array.from({ length: count - 1 }, (_, i) => `${base}-${i + 2}`)]
  const again = remembered && new RegExp(`^${base}(-\\d+)?$`, "i").test(remembered) ? [remembered] : []
  return [...new Set([...again, ...names])]
}

/** This machine's IPv4 addresses, exactly those bonjour-service publishes A records for. */
export function ownIPv4(): string[] {
  const out: string[] = []
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal && a.mac !== "00:00:00:00:00:00") out.push(a.address)
  }
  return out
}

function readRemembered(file: string | undefined): string | undefined {
  if (!file) return undefined
  try {
    return readFileSync(file, "utf8").trim() || undefined
  } catch {
    return undefined
  }
}

function remember(file: string | undefined, host: string): void {
  if (!file || readRemembered(file) === host) return
  try {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, `${host}\n`)
  } catch {
    // Not remembering only risks a different name after a restart: not worth a warning.
  }
}

/** The name `claimHostName` tries first: the one chosen last time, or the hostname. */
export function firstHostName(base: string, stateFile?: string): string {
  return hostCandidates(base, readRemembered(stateFile))[0]!
}

export interface HostClaim {
  /** The label in use, without `.local`. */
  host: string
  /** Names that were found in use by other machines, in the order tried. */
  taken: string[]
}

/**
 * Find a `.local` host name no other machine answers for: the remembered one or the
 * hostname first, then numbered ones. A name answered only with our own addresses is
 * ours (another Nexus process on this machine). Stores the result in `stateFile`.
 */
export async function claimHostName(
  socket: MulticastDns,
  opts: { base: string; first?: string; stateFile?: string; onError: (err: Error) => void; clock?: Clock }
): Promise<HostClaim> {
  const taken: string[] = []
  const candidates = hostCandidates(opts.base, opts.first ?? readRemembered(opts.stateFile))
  for (const host of candidates) {
    const name = `${host}.local`
    const records: Rr[] = ownIPv4().map((address) => ({ name, type: "A", ttl: 120, data: address }))
    const conflicts = (rr: Rr) => (rr.type === "A" || rr.type === "AAAA") && !isOwnAddress(String(rr.data))
    if (await probe(socket, { name, records, conflicts, alsoAsk: ["A"] }, opts.onError, opts.clock)) {
      taken.push(host)
      continue
    }
    remember(opts.stateFile, host)
    return { host, taken }
  }
  // Every candidate is taken (a very crowded or hostile network): a random suffix.
  const host = `${opts.base}-${Math.random().toString(36).slice(2, 6)}`
  return { host, taken }
}
