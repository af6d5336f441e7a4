/**
 * mDNS / DNS-SD through bonjour-service, made safe to run inside a gateway: no failure
 * (port 5353 taken, no multicast route, a name conflict) may take the process down;
 * each becomes one clear warning and the rest of Nexus keeps working
 * (reference/stack.md §6 lists where bonjour-service throws or only console.logs).
 * @module
 */
import { Bonjour, type Browser, type Service } from "bonjour-service"
import { lanAddress } from "../net.ts"

export interface MdnsService {
  /** Instance name (`ollama on gpu-box`). */
  name: string
  /** Service type without the leading underscore and protocol (`llm`). */
  type: string
  host: string
  port: number
  addresses: string[]
  txt: Record<string, string>
}

export interface Published {
  name: string
  /** Withdraw the record (sends a goodbye). */
  stop(): Promise<void>
}

/** The multicast-dns instance inside bonjour-service (not exported by it). */
interface MulticastDns extends NodeJS.EventEmitter {
  query(name: string, type: string): void
}

export interface Mdns {
  browse(serviceType: string, on: { up(s: MdnsService): void; down(s: MdnsService): void }): { stop(): void; refresh(): void }
  publish(opts: { name: string; type: string; port: number; txt: Record<string, string> }): Published
  /** Withdraw everything we published (goodbyes) and close the socket. */
  close(): Promise<void>
}

/** `_llm._tcp` → `llm`; `llm` stays `llm`. */
export function bareType(serviceType: string): string {
  return serviceType.replace(/^_/, "").replace(/\._(tcp|udp)(\.local\.?)?$/, "")
}

function view(s: Service): MdnsService {
  const txt: Record<string, string> = {}
  for (const [k, v] of Object.entries((s.txt ?? {}) as Record<string, unknown>)) txt[k.toLowerCase()] = String(v)
  const addresses = [...(s.addresses ?? [])]
  // No A/AAAA record in the answer: the packet's source address is the host.
  if (!addresses.length && s.referer?.address) addresses.push(s.referer.address)
  return { name: s.name, type: s.type, host: s.host, port: s.port, addresses, txt }
}

export function createMdns(warn: (message: string) => void): Mdns {
  let warned = new Set<string>()
  const once = (key: string, message: string) => {
    if (warned.has(key)) return
    warned.add(key)
    warn(message)
  }
  const explain = (err: Error & { code?: string }) => {
    if (err.code === "EADDRINUSE") return "UDP port 5353 is in use by a program that does not share it"
    if (err.code === "EACCES") return "not allowed to use UDP port 5353"
    if (err.code === "ENETUNREACH" || err.code === "EHOSTUNREACH") return "no network interface with a multicast route"
    return err.message
  }
  const onError = (err: Error & { code?: string }) =>
    once(`err:${err.code ?? err.message}`, `mDNS unavailable (${explain(err)}); other discovery keeps working`)

  const disabled: Mdns = { browse: () => ({ stop() {}, refresh() {} }), publish: (o) => ({ name: o.name, stop: async () => {} }), close: async () => {} }
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

  const browsers = new Set<Browser>()

  return {
    browse(serviceType, on) {
      let browser: Browser
      try {
        browser = bonjour.find({ type: bareType(serviceType), protocol: "tcp" })
      } catch (err) {
        onError(err as Error)
        return { stop() {}, refresh() {} }
      }
      browsers.add(browser)
      browser.on("up", (s) => on.up(view(s)))
      browser.on("down", (s) => on.down(view(s)))
      // A changed TXT (models) or address is the same service, seen again.
      browser.on("txt-update", (s) => on.up(view(s)))
      browser.on("srv-update", (s) => on.up(view(s)))
      return {
        stop() {
          browser.stop()
          browsers.delete(browser)
        },
        refresh() {
          try {
            browser.update()
          } catch (err) {
            onError(err as Error)
          }
        },
      }
    },

    publish({ name, type, port, txt }) {
      let service: Service | undefined
      let stopped = false
      const fqdn = (instance: string) => `${instance.split(".").join("-")}._${bareType(type)}._tcp.local`.toLowerCase()

      // Probe the name ourselves (RFC 6762 §8.1: three queries, 250 ms apart): bonjour's
      // own probe reports a conflict only through console.log.
      const taken = (instance: string) =>
        new Promise<boolean>((resolve) => {
          const want = fqdn(instance)
          let sent = 0
          let next: Timer | undefined
          const onResponse = (packet: { answers?: { name: string }[]; additionals?: { name: string }[] }) => {
            const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])]
            if (records.some((rr) => String(rr.name).toLowerCase() === want)) finish(true)
          }
          const finish = (inUse: boolean) => {
            clearTimeout(deadline)
            clearTimeout(next)
            socket.removeListener("response", onResponse)
            resolve(inUse)
          }
          const send = () => {
            try {
              socket.query(want, "ANY")
            } catch (err) {
              onError(err as Error)
            }
            if (++sent < 3) next = setTimeout(send, 250)
          }
          socket.on("response", onResponse)
          const deadline = setTimeout(() => finish(false), 900)
          send()
        })

      void (async () => {
        for (let attempt = 1; attempt <= 5; attempt++) {
          const instance = attempt === 1 ? name : `${name} (${attempt})`
          if (await taken(instance)) {
            warn(`mDNS name "${instance}" is already in use on the network; ${attempt < 5 ? `trying "${name} (${attempt + 1})"` : "not advertising"}`)
            continue
          }
          if (stopped) return
          try {
            service = bonjour.publish({ name: instance, type: bareType(type), protocol: "tcp", port, txt, disableIPv6: true, probe: false })
          } catch (err) {
            onError(err as Error)
          }
          return
        }
      })()

      return {
        name,
        stop: () =>
          new Promise<void>((resolve) => {
            stopped = true
            if (!service?.activated) return resolve()
            try {
              service.stop?.(() => resolve())
            } catch {
              resolve()
            }
          }),
      }
    },

    close: () =>
      new Promise<void>((resolve) => {
        for (const b of browsers) b.stop()
        browsers.clear()
        warned = new Set()
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
