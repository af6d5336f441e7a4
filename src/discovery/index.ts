/**
 * Discovery for `nexus serve`: probing well-known ports, browsing DNS-SD, and
 * advertising this gateway as `_nexus._tcp`. Discovered backends go through the same
 * registry and health checks as configured ones; health checks, not mDNS, decide
 * whether a backend is routable (a crashed host sends no goodbye).
 * @module
 */
import { join } from "node:path"
import type { BackendType, NexusConfig } from "../config/types.ts"
import { createRemovals } from "./removals.ts"
import { realClock, type Clock } from "../core/clock.ts"
import type { HealthChecker } from "../health/checker.ts"
import type { Logger } from "../observability/log.ts"
import type { Registry } from "../registry/registry.ts"
import { isLoopbackHost } from "../net.ts"
import { dataDir } from "../persist/store.ts"
import { VERSION } from "../version.ts"
import { fingerprint } from "./fingerprint.ts"
import type { Mdns, MdnsService } from "./mdns.ts"
import { discoveredId, startProbing } from "./probe.ts"
import { fromService, type Advertised } from "./service-url.ts"

/** Where discovery reports what it finds and loses; backend management implements it. */
export interface DiscoverySink {
  /** A server was found (not persisted: discovery finds it again). Configured ones win. */
  addDiscovered(found: { url: string; type: BackendType; source: "probe" | "mdns"; id: string }): unknown
  /** Its advertisement is gone for good. */
  removeDiscovered(id: string): void
}

export interface DiscoveryDeps {
  config: () => NexusConfig
  registry: Registry
  health: HealthChecker
  sink: DiscoverySink
  log: Logger
  /** The port this gateway listens on (never probed, and advertised). */
  port: number
  /** What the grace period, re-queries and name probing wait on; the real clock by default. */
  clock?: Clock
  /** Removals a previous run had scheduled (backend id -> when, on `clock`): kept, not restarted. */
  pending?: ReadonlyMap<string, number>
}

export interface Discovery {
  /** A DNS-SD service appeared (what the mDNS browser reports). */
  serviceUp(s: MdnsService, serviceType: string): Promise<void>
  /** A DNS-SD service was withdrawn: out of rotation now, forgotten after the grace period. */
  serviceDown(s: MdnsService, serviceType: string): void
  /** The removals still waiting out their grace period (backend id -> when), for the next run. */
  pendingRemovals(): ReadonlyMap<string, number>
  stop(): Promise<void>
}

/**
 * `ollama-raspberrypi-2-11434`: readable and, since advertisers claim host names of their
 * own, unique and stable. Two boxes still answering for one host name (a stack that does
 * not resolve name conflicts) are told apart by the address that answered.
 */
function idFor(registry: Registry, type: string, ad: Advertised): string {
  const id = discoveredId(type, ad.host, ad.port)
  if (!registry.get(id)) return id
  return discoveredId(type, `${ad.host}-${new URL(ad.url).hostname}`, ad.port)
}

/**
 * Browse `serviceType`, asking again every `every` ms: answers to a fresh query also find
 * services whose announcements were missed. Returns the stop.
 */
function browseAndRequery(mdns: Mdns, serviceType: string, handlers: Parameters<Mdns["browse"]>[1], every: number, clock: Clock): () => void {
  const browser = mdns.browse(serviceType, handlers)
  let refresh: unknown
  const again = () => {
    browser.refresh()
    refresh = clock.setTimeout(again, every)
  }
  refresh = clock.setTimeout(again, every)
  return () => {
    clock.clearTimeout(refresh)
    browser.stop()
  }
}

export function startDiscovery(deps: DiscoveryDeps): Discovery {
  const { registry, health, sink, log } = deps
  const clock = deps.clock ?? realClock
  const cfg = deps.config().discovery
  const stops: (() => void | Promise<void>)[] = []

  if (cfg.probe_ports.length) {
    const probing = { hosts: cfg.probe_hosts, ports: cfg.probe_ports, skip: [`localhost:${deps.port}`], intervalMs: cfg.probe_interval_seconds * 1000, clock }
    stops.push(startProbing(probing, (found) => void sink.addDiscovered({ ...found, source: "probe" })))
  }

  const wantsMdns = cfg.service_types.length > 0 || cfg.advertise
  const removals = createRemovals(clock, (id) => {
    if (registry.get(id)?.withdrawn) sink.removeDiscovered(id)
  })

  // A restart (a reload of [discovery]) keeps the clock running for backends withdrawn
  // before it: none stays out of rotation for ever.
  for (const b of registry.list()) {
    if (b.source === "mdns" && b.withdrawn) removals.schedule(b.id, deps.pending?.get(b.id) ?? clock.now() + cfg.grace_period_seconds * 1000)
  }

  async function up(s: MdnsService, serviceType: string): Promise<void> {
    const ad = fromService(s, serviceType)
    if (!ad) return log.debug(`mDNS: ${s.name} has no usable address`, { service: s.name })
    const known = registry.findByUrl(ad.url)
    if (known) {
      removals.cancel(known.id)
      if (known.withdrawn) {
        registry.setWithdrawn(known.id, false)
        log.info(`backend ${known.name} is advertised again`, { backend: known.name })
        await health.checkOne(known)
      }
      return
    }
    const type = ad.type ?? (await fingerprint(ad.url, { timeoutMs: 3000 }))
    if (!type) return log.warn(`mDNS: ${s.name} at ${ad.url} does not answer like an LLM server; ignored`)
    sink.addDiscovered({ id: idFor(registry, type, ad), url: ad.url, type, source: "mdns" })
  }

  function down(s: MdnsService, serviceType: string): void {
    const ad = fromService(s, serviceType)
    const b = ad && registry.findByUrl(ad.url)
    if (!b || b.source !== "mdns") return
    // Out of rotation now; forgotten after the grace period unless it comes back.
    registry.setWithdrawn(b.id, true)
    registry.setStatus(b.id, "unknown", "mDNS service withdrawn")
    removals.schedule(b.id, clock.now() + deps.config().discovery.grace_period_seconds * 1000)
  }

  function startMdns(mdns: Mdns): void {
    const every = Math.max(5, cfg.probe_interval_seconds) * 1000
    for (const serviceType of cfg.service_types) {
      const handlers = {
        up: (s: MdnsService) => void up(s, serviceType).catch((err: Error) => log.warn(`mDNS: ${s.name}: ${err.message}`)),
        down: (s: MdnsService) => down(s, serviceType),
      }
      stops.push(browseAndRequery(mdns, serviceType, handlers, every, clock))
    }
    const host = deps.config().server.host
    if (cfg.advertise && !isLoopbackHost(host)) {
      mdns.publish({
        name: (h) => `Nexus on ${h}`,
        type: "_nexus._tcp",
        port: deps.port,
        txt: { version: VERSION, api_path: "/v1" },
        onPublished: (at) => log.info(`advertising this gateway as "${at.instance}" on ${at.host}`),
      })
    } else if (cfg.advertise) {
      log.debug(`not advertising _nexus._tcp: listening on ${host} only`)
    }
    stops.push(() => mdns.close())
  }

  // bonjour-service is loaded only when mDNS is wanted (a few MB on a small box).
  let stopped = false
  const mdnsReady = wantsMdns
    ? import("./mdns.ts").then((m) => m.createMdns((msg) => log.warn(msg), { stateFile: join(dataDir(deps.config().server.data_dir), "mdns-host-name"), clock })).then(
        (mdns) => (stopped ? mdns.close() : startMdns(mdns)),
        (err: Error) => log.warn(`mDNS unavailable (${err.message}); other discovery keeps working`)
      )
    : Promise.resolve()

  return {
    serviceUp: up,
    serviceDown: down,
    pendingRemovals: removals.pending,
    async stop() {
      stopped = true
      await mdnsReady
      removals.clear()
      await Promise.all(stops.map((s) => s()))
    },
  }
}
