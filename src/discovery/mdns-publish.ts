/**
 * Publishing under names we have claimed. bonjour-service announces and answers; this
 * module decides the names: a `.local` host name of our own (mdns-probe.ts), then an
 * instance name under it, and both again when another machine turns out to answer for
 * our host name (RFC 6762 §9: two boxes that probed while apart, then met).
 * @module
 */
import type { Bonjour, Service } from "bonjour-service"
import type { Clock } from "../core/clock.ts"
import { isOwnAddress } from "../net.ts"
import { bareType } from "./mdns-browse.ts"
import { claimHostName, firstHostName, ownIPv4, probe } from "./mdns-probe.ts"
import { recordsOf, sameName, type MulticastDns, type Packet, type Rr, type SrvData } from "./mdns-wire.ts"

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

interface Context {
  bonjour: Bonjour
  socket: MulticastDns
  warn(message: string): void
  onError(err: Error): void
  clock: Clock
}

interface Publication {
  opts: PublishOptions
  service?: Service
  stopped: boolean
}

const MAX_INSTANCE_ATTEMPTS = 5

/** The instance name of the `attempt`th try under `host`: `name`, `name (2)`, ... */
function instanceName(opts: PublishOptions, host: string, attempt: number): string {
  const first = opts.name(host)
  return attempt === 1 ? first : `${first} (${attempt})`
}

/** Probe the instance name of the `attempt`th try under `host`: true when another server uses it. */
function instanceTaken(ctx: Context, opts: PublishOptions, host: string, attempt: number): Promise<boolean> {
  const target = `${host}.local`
  const fqdn = `${instanceName(opts, host, attempt).split(".").join("-")}._${bareType(opts.type)}._tcp.local`
  const ours: Rr = { name: fqdn, type: "SRV", ttl: 120, data: { port: opts.port, target, priority: 0, weight: 0 } }
  // Identical SRV data is the same server (two advertisers on one box): not a conflict.
  const conflicts = (rr: Rr) => rr.type === "SRV" && !((rr.data as SrvData).port === opts.port && sameName((rr.data as SrvData).target, target))
  return probe(ctx.socket, { name: fqdn, records: [ours], conflicts }, ctx.onError, ctx.clock)
}

/**
 * Probe for an instance name under `host` (`name`, `name (2)`, ...) and publish it.
 * `early` is the first name's probe when it was started beside the host name's.
 */
async function publishUnder(
  ctx: Context,
  p: Publication,
  host: string,
  cancelled: () => boolean,
  early?: Promise<boolean>
): Promise<{ instance: string; host: string } | undefined> {
  const target = `${host}.local`
  const { type, port, txt } = p.opts
  const first = p.opts.name(host)
  for (let attempt = 1; attempt <= MAX_INSTANCE_ATTEMPTS; attempt++) {
    const instance = instanceName(p.opts, host, attempt)
    if (await ((attempt === 1 && early) || instanceTaken(ctx, p.opts, host, attempt))) {
      const next = attempt < MAX_INSTANCE_ATTEMPTS ? `trying "${first} (${attempt + 1})"` : "not advertising"
      ctx.warn(`mDNS name "${instance}" is already in use on the network; ${next}`)
      continue
    }
    if (cancelled()) return undefined
    try {
      p.service = ctx.bonjour.publish({ name: instance, host: target, type: bareType(type), protocol: "tcp", port, txt, disableIPv6: true, probe: false })
    } catch (err) {
      ctx.onError(err as Error)
      return undefined
    }
    p.opts.onPublished?.({ instance, host: target })
    return { instance, host: target }
  }
  return undefined
}

/** Goodbye for one publication's records. */
function withdraw(p: Publication): Promise<void> {
  return new Promise<void>((resolve) => {
    const service = p.service
    p.service = undefined
    if (!service?.activated) return resolve()
    try {
      service.stop?.(() => resolve())
    } catch {
      resolve()
    }
  })
}

/**
 * The host name this process answers for: claimed on first use (a browser never probes),
 * and defended from then on, services or not: its address records stay in the responder,
 * so a box probing for the same name hears that it is taken.
 */
function hostKeeper(ctx: Context, opts: { base: string; stateFile?: string }) {
  let claim: Promise<string> | undefined
  let current: string | undefined
  const server = (ctx.bonjour as unknown as { server: { register(r: Rr[]): void; unregister(r: Rr[]): void } }).server
  const records = (host: string): Rr[] => ownIPv4().map((address) => ({ name: `${host}.local`, type: "A", ttl: 120, data: address }))
  // Also after a service stops: bonjour-service then forgets, and says goodbye to, every
  // address record of the host name, the ones other services still rely on included.
  const defend = () => {
    if (!current) return
    server.register(records(current))
    ctx.socket.respond({ answers: records(current) })
  }
  const run = async (first?: string) => {
    const { host, taken } = await claimHostName(ctx.socket, { base: opts.base, first, stateFile: opts.stateFile, onError: ctx.onError, clock: ctx.clock })
    const names = taken.map((t) => `"${t}.local"`).join(", ")
    if (taken.length) ctx.warn(`mDNS host name ${names} ${taken.length > 1 ? "are" : "is"} answered by another machine; this one is "${host}.local"`)
    current = host
    defend()
    return host
  }
  return {
    get: () => (claim ??= run()),
    current: () => current,
    /** The name a claim not yet made will try first. */
    expected: () => firstHostName(opts.base, opts.stateFile),
    defend,
    /** Stop answering for the name and probe again, for it first: the tie-break or the other's answer decides. */
    again: () => {
      if (current) server.unregister(records(current))
      return (claim = run(current))
    },
  }
}

export function createPublisher(ctx: Context, opts: { base: string; stateFile?: string }): { publish(o: PublishOptions): Published; detach(): void } {
  const host = hostKeeper(ctx, opts)
  const publications = new Set<Publication>()
  let reclaiming = false
  const start = async (p: Publication) => {
    // Before the host name is ours, the instance name under the name we expect is probed
    // beside it (RFC 6762 §8.1 lets a host probe its names together): one probing delay
    // instead of two, unless the host name turns out to be taken.
    const guess = host.current() === undefined ? host.expected() : undefined
    const early = guess === undefined ? undefined : instanceTaken(ctx, p.opts, guess, 1)
    const name = await host.get()
    return publishUnder(ctx, p, name, () => p.stopped || reclaiming, name === guess ? early : undefined)
  }
  const unpublish = (p: Publication) => withdraw(p).then(() => !reclaiming && host.defend())

  async function reclaim(by: string): Promise<void> {
    reclaiming = true
    ctx.warn(`mDNS host name "${host.current()}.local" is also answered by ${by}; probing for it again`)
    await Promise.all([...publications].map(unpublish))
    await host.again()
    reclaiming = false
    for (const p of publications) if (!p.stopped) void start(p)
  }
  // Another machine's address under our host name, once it is ours: back to probing.
  const onResponse = (packet: Packet) => {
    const name = host.current()
    if (!name || reclaiming) return
    const clash = recordsOf(packet).find(
      (rr) => (rr.type === "A" || rr.type === "AAAA") && (rr.ttl ?? 1) > 0 && sameName(rr.name, `${name}.local`) && !isOwnAddress(String(rr.data))
    )
    if (clash) void reclaim(String(clash.data))
  }
  ctx.socket.on("response", onResponse)

  return {
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
    detach() {
      for (const p of publications) p.stopped = true
      publications.clear()
      ctx.socket.removeListener("response", onResponse)
    },
  }
}
