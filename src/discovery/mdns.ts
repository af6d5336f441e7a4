/**
 * mDNS / DNS-SD, made safe to run inside a gateway and honest on real home networks.
 * No failure (port 5353 taken, no multicast route, a name conflict) may take the process
 * down; each becomes one clear warning and the rest of Nexus keeps working (bonjour-service
 * throws or only console.logs in several places). bonjour-service answers queries and
 * announces; names are claimed here (mdns-probe.ts: a host name of our own, then the
 * instance name) and browsing is ours (mdns-browse.ts: one service per answering box).
 * @module
 */
import { Bonjour, type Service } from "bonjour-service"
import { hostname } from "node:os"
import { isOwnAddress, lanAddress } from "../net.ts"
import { bareType, browseType, type BrowseHandlers } from "./mdns-browse.ts"
import { claimHostName, hostLabel, probe } from "./mdns-probe.ts"
import { recordsOf, sameName, type MulticastDns, type Packet, type Rr, type SrvData } from "./mdns-wire.ts"

export { bareType, type MdnsService } from "./mdns-browse.ts"

export interface PublishOptions {
  /** The instance name for the host name in use, so it follows a host that had to rename. */
  name: (host: string) => string
  type: string
  port: number
  txt: Record<string, string>
  /** Told each time the record goes out under a name: the first time, and after a host rename. */
  onPublished?(at: { instance: string; host: string }): void
}

export interface Published {
  /** Once probing is over: the names in use (`host` with `.local`), or undefined if not published. */
  ready: Promise<{ instance: string; host: string } | undefined>
  /** Withdraw the record (sends a goodbye). */
  stop(): Promise<void>
}

export interface Mdns {
  browse(serviceType: string, on: BrowseHandlers): { stop(): void; refresh(): void }
  publish(opts: PublishOptions): Published
  /** Withdraw everything we published (goodbyes) and close the socket. */
  close(): Promise<void>
}

export interface MdnsOptions {
  /** Where the claimed host name is kept, so a renamed box keeps its name across restarts. */
  stateFile?: string
  /** The machine's hostname (default: the OS's). */
  hostname?: string
}

interface Publication {
  opts: PublishOptions
  service?: Service
  stopped: boolean
}

const MAX_INSTANCE_ATTEMPTS = 5

function explain(err: Error & { code?: string }): string {
  if (err.code === "EADDRINUSE") return "UDP port 5353 is in use by a program that does not share it"
  if (err.code === "EACCES") return "not allowed to use UDP port 5353"
  if (err.code === "ENETUNREACH" || err.code === "EHOSTUNREACH") return "no network interface with a multicast route"
  return err.message
}

const disabled: Mdns = {
  browse: () => ({ stop() {}, refresh() {} }),
  publish: () => ({ ready: Promise.resolve(undefined), stop: async () => {} }),
  close: async () => {},
}

export function createMdns(warn: (message: string) => void, opts: MdnsOptions = {}): Mdns {
  const warned = new Set<string>()
  const onError = (err: Error & { code?: string }) => {
    const key = `err:${err.code ?? err.message}`
    if (warned.has(key)) return
    warned.add(key)
    warn(`mDNS unavailable (${explain(err)}); other discovery keeps working`)
  }
  // Only loopback: multicast-dns would send into the void without a word.
  if (!lanAddress()) {
    onError(Object.assign(new Error("no interface"), { code: "ENETUNREACH" }))
    return disabled
  }
  let bonjour: Bonjour
  let socket: MulticastDns
  try {
    bonjour = new Bonjour({}, onError)
    // The socket's own errors come from a private emitter the callback does not cover.
    socket = (bonjour as unknown as { server: { mdns: MulticastDns } }).server.mdns
    socket.on("error", onError)
    socket.on("warning", onError)
  } catch (err) {
    onError(err as Error)
    return disabled
  }
  return responder(bonjour, socket, warn, onError, opts)
}

function responder(bonjour: Bonjour, socket: MulticastDns, warn: (m: string) => void, onError: (e: Error) => void, opts: MdnsOptions): Mdns {
  const base = hostLabel(opts.hostname ?? hostname())
  const browsers = new Set<{ stop(): void }>()
  const publications = new Set<Publication>()
  let host: Promise<string> | undefined
  let current: string | undefined
  let reclaiming = false

  const claim = async (first?: string): Promise<string> => {
    const { host: got, taken } = await claimHostName(socket, { base, first, stateFile: opts.stateFile, onError })
    const names = taken.map((t) => `"${t}.local"`).join(", ")
    if (taken.length) warn(`mDNS host name ${names} ${taken.length > 1 ? "are" : "is"} answered by another machine; this one is "${got}.local"`)
    current = got
    return got
  }
  // Claimed on first publish only: a process that just browses never probes.
  const hostName = () => (host ??= claim())

  const srvOf = (fqdn: string, target: string, port: number): Rr => ({ name: fqdn, type: "SRV", ttl: 120, data: { port, target, priority: 0, weight: 0 } })

  async function start(p: Publication): Promise<{ instance: string; host: string } | undefined> {
    const h = await hostName()
    const target = `${h}.local`
    const first = p.opts.name(h)
    for (let attempt = 1; attempt <= MAX_INSTANCE_ATTEMPTS; attempt++) {
      const instance = attempt === 1 ? first : `${first} (${attempt})`
      const fqdn = `${instance.split(".").join("-")}._${bareType(p.opts.type)}._tcp.local`
      const ours = srvOf(fqdn, target, p.opts.port)
      // Identical SRV data is the same server (two advertisers on one box): not a conflict.
      const conflicts = (rr: Rr) => rr.type === "SRV" && !((rr.data as SrvData).port === p.opts.port && sameName((rr.data as SrvData).target, target))
      if (await probe(socket, { name: fqdn, records: [ours], conflicts }, onError)) {
        const next = attempt < MAX_INSTANCE_ATTEMPTS ? `trying "${first} (${attempt + 1})"` : "not advertising"
        warn(`mDNS name "${instance}" is already in use on the network; ${next}`)
        continue
      }
      // Stopped, or the host name is being claimed again (which restarts every publication).
      if (p.stopped || reclaiming) return undefined
      try {
        const { type, port, txt } = p.opts
        p.service = bonjour.publish({ name: instance, host: target, type: bareType(type), protocol: "tcp", port, txt, disableIPv6: true, probe: false })
      } catch (err) {
        onError(err as Error)
        return undefined
      }
      p.opts.onPublished?.({ instance, host: target })
      return { instance, host: target }
    }
    return undefined
  }

  const unpublish = (p: Publication) =>
    new Promise<void>((resolve) => {
      const service = p.service
      p.service = undefined
      if (!service?.activated) return resolve()
      try {
        service.stop?.(() => resolve())
      } catch {
        resolve()
      }
    }).then(reassertHost)

  // bonjour-service forgets and says goodbye to every A record of a host name when one of
  // its services stops: put the address records of the services still up back.
  function reassertHost(): void {
    const server = (bonjour as unknown as { server: { register(r: unknown[]): void } }).server
    for (const p of publications) {
      if (!p.service?.activated) continue
      const addresses = p.service.records().filter((r) => r.type === "A" || r.type === "AAAA")
      server.register(addresses)
      socket.respond({ answers: addresses as Rr[] })
      return
    }
  }

  // RFC 6762 §9: another machine answering for our host name after we claimed it (two
  // boxes that probed while apart, then met) sends us back to probing; the tie-break or
  // the other's answer then decides who keeps the name.
  async function reclaim(by: string): Promise<void> {
    if (reclaiming || !current) return
    reclaiming = true
    warn(`mDNS host name "${current}.local" is also answered by ${by}; probing for it again`)
    await Promise.all([...publications].map(unpublish))
    host = claim(current)
    await host
    reclaiming = false
    for (const p of publications) if (!p.stopped) void start(p)
  }
  const onResponse = (packet: Packet) => {
    if (!current || reclaiming) return
    const name = `${current}.local`
    const clash = recordsOf(packet).find(
      (rr) => (rr.type === "A" || rr.type === "AAAA") && (rr.ttl ?? 1) > 0 && sameName(rr.name, name) && !isOwnAddress(String(rr.data))
    )
    if (clash && [...publications].some((p) => p.service)) void reclaim(String(clash.data))
  }
  socket.on("response", onResponse)

  return {
    browse(serviceType, on) {
      const browser = browseType(socket, serviceType, on, onError)
      browsers.add(browser)
      return {
        stop() {
          browser.stop()
          browsers.delete(browser)
        },
        refresh: browser.refresh,
      }
    },

    publish(options) {
      const p: Publication = { opts: options, stopped: false }
      publications.add(p)
      return {
        ready: start(p),
        async stop() {
          p.stopped = true
          publications.delete(p)
          await unpublish(p)
        },
      }
    },

    close: () =>
      new Promise<void>((resolve) => {
        for (const b of browsers) b.stop()
        browsers.clear()
        for (const p of publications) p.stopped = true
        publications.clear()
        socket.removeListener("response", onResponse)
        const done = () => {
          try {
            bonjour.destroy(() => resolve())
          } catch {
            resolve()
          }
        }
        try {
          bonjour.unpublishAll(done)
        } catch {
          done()
        }
      }),
  }
}
