/**
 * mDNS / DNS-SD, made safe to run inside a gateway and honest on real home networks.
 * No failure (port 5353 taken, no multicast route, a name conflict) may take the process
 * down; each becomes one clear warning and the rest of Nexus keeps working (bonjour-service
 * throws or only console.logs in several places). bonjour-service answers queries and
 * announces; the names it publishes under are claimed by mdns-publish.ts (a host name
 * of our own, then the instance name) and browsing is ours (mdns-browse.ts: one service
 * per answering box).
 * @module
 */
import { Bonjour } from "bonjour-service"
import { hostname } from "node:os"
import { realClock, type Clock } from "../core/clock.ts"
import { lanAddress } from "../net.ts"
import { browseType, type BrowseHandlers } from "./mdns-browse.ts"
import { hostLabel } from "./mdns-probe.ts"
import { createPublisher, type PublishOptions, type Published } from "./mdns-publish.ts"
import type { MulticastDns } from "./mdns-wire.ts"

export { bareType, type MdnsService } from "./mdns-browse.ts"
export type { PublishOptions, Published } from "./mdns-publish.ts"

export interface Mdns {
  browse(serviceType: string, on: BrowseHandlers): { stop(): void; refresh(): void }
  publish(opts: PublishOptions): Published
  /** Withdraw everything we published (goodbyes) and close the socket. */
  close(): Promise<void>
}

export interface MdnsOptions {
  /** Where the claimed host name is kept, so a renamed box keeps its name across restarts. */
  stateFile?: string
  /** What name probing waits on; the real clock by default. */
  clock?: Clock
}

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
  const browsers = new Set<{ stop(): void }>()
  const publisher = createPublisher({ bonjour, socket, warn, onError, clock: opts.clock ?? realClock }, { base: hostLabel(hostname()), stateFile: opts.stateFile })

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

    publish: (options) => publisher.publish(options),

    close: () =>
      new Promise<void>((resolve) => {
        for (const b of browsers) b.stop()
        browsers.clear()
        publisher.detach()
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
