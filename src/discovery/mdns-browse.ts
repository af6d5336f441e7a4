/**
 * A DNS-SD browser that keeps boxes apart. bonjour-service's own browser keys services by
 * instance name alone and takes addresses from whatever A records it sees, so two boxes
 * that share a host name (or, briefly, an instance name) fold into one. Here a service is
 * the pair (instance name, responder address): each box that answers is its own service,
 * reached at the address its answer came from, and a goodbye only ends what its sender
 * published.
 * @module
 */
import { decodeTxt, recordsOf, sameName, type MulticastDns, type Packet, type Rr, type Sender, type SrvData } from "./mdns-wire.ts"

export interface MdnsService {
  /** Instance name (`ollama on gpu-box:11434`). */
  name: string
  /** Service type without the leading underscore and protocol (`llm`). */
  type: string
  /** SRV target without the trailing dot (`gpu-box.local`). */
  host: string
  port: number
  /**
   * Addresses of the box that answered, the answer's source address first: a host name
   * that several boxes claim resolves to all of them, the sender of a packet to one.
   */
  addresses: string[]
  txt: Record<string, string>
}

export interface BrowseHandlers {
  up(s: MdnsService): void
  down(s: MdnsService): void
}

/** `_llm._tcp` → `llm`; `llm` stays `llm`. */
export function bareType(serviceType: string): string {
  return serviceType.replace(/^_/, "").replace(/\._(tcp|udp)(\.local\.?)?$/, "")
}

/** The addresses a packet gives for `host`, with the sender's own address first. */
export function responderAddresses(records: Rr[], host: string, from: string): string[] {
  const advertised = records.filter((rr) => (rr.type === "A" || rr.type === "AAAA") && (rr.ttl ?? 1) > 0 && sameName(rr.name, host)).map((rr) => String(rr.data))
  // A sender that is not among the addresses it advertises (a reflector, a proxy) is not
  // where the service lives; otherwise the sender is certainly the box itself.
  if (advertised.length && !advertised.includes(from)) return advertised
  return [from, ...advertised.filter((a) => a !== from)]
}

export function browseType(socket: MulticastDns, serviceType: string, on: BrowseHandlers, onError: (err: Error) => void): { stop(): void; refresh(): void } {
  const type = bareType(serviceType)
  const ptrName = `_${type}._tcp.local`
  /** Instance names seen in PTR records for this type (lowercase). */
  const instances = new Set<string>()
  /** `instance@responder` → what was last reported up, and its fingerprint. */
  const live = new Map<string, { view: MdnsService; sig: string }>()
  const txtFirst = new Map<string, Record<string, string>>()
  const keyOf = (instance: string, from: Sender) => `${instance.replace(/\.$/, "").toLowerCase()}@${from.address}`
  const query = (q: Parameters<MulticastDns["query"]>[0], t?: string) => {
    try {
      socket.query(q, t)
    } catch (err) {
      onError(err as Error)
    }
  }

  const gone = (key: string) => {
    const had = live.get(key)
    if (!had) return
    live.delete(key)
    on.down(had.view)
  }

  const report = (key: string, view: MdnsService) => {
    const sig = JSON.stringify([view.host, view.port, view.addresses, view.txt])
    if (live.get(key)?.sig === sig) return
    live.set(key, { view, sig })
    on.up(view)
  }

  const fromSrv = (srv: Rr, records: Rr[], from: Sender): MdnsService => {
    const data = srv.data as SrvData
    const host = String(data.target).replace(/\.$/, "")
    const txtRr = records.find((rr) => rr.type === "TXT" && sameName(rr.name, srv.name))
    const key = keyOf(srv.name, from)
    const txt = txtRr ? decodeTxt(txtRr.data) : (txtFirst.get(key) ?? live.get(key)?.view.txt ?? {})
    txtFirst.delete(key)
    const name = srv.name.replace(/\.$/, "").slice(0, -(ptrName.length + 1))
    return { name, type, host, port: data.port, addresses: responderAddresses(records, host, from.address), txt }
  }

  const onResponse = (packet: Packet, from: Sender) => {
    const records = recordsOf(packet)
    const missing = new Set<string>()
    for (const rr of records) {
      if (rr.type !== "PTR" || !sameName(rr.name, ptrName)) continue
      const instance = String(rr.data)
      if (rr.ttl === 0) gone(keyOf(instance, from))
      else {
        instances.add(instance.replace(/\.$/, "").toLowerCase())
        missing.add(instance)
      }
    }
    for (const rr of records) {
      if (!instances.has(rr.name.replace(/\.$/, "").toLowerCase())) continue
      const key = keyOf(rr.name, from)
      if (rr.type === "SRV") {
        for (const m of missing) if (sameName(m, rr.name)) missing.delete(m)
        if (rr.ttl === 0) gone(key)
        else report(key, fromSrv(rr, records, from))
      } else if (rr.type === "TXT" && (rr.ttl ?? 1) > 0 && !records.some((s) => s.type === "SRV" && sameName(s.name, rr.name))) {
        // A TXT on its own (an answer to our TXT question, or a changed TXT announced).
        const had = live.get(key)
        if (had) report(key, { ...had.view, txt: decodeTxt(rr.data) })
        else txtFirst.set(key, decodeTxt(rr.data))
      }
    }
    // Some responders send the PTR alone: ask its sender's instance for the rest.
    for (const instance of missing) query([{ name: instance, type: "SRV" }, { name: instance, type: "TXT" }])
  }

  socket.on("response", onResponse)
  query(ptrName, "PTR")
  return {
    stop: () => void socket.removeListener("response", onResponse),
    refresh: () => query(ptrName, "PTR"),
  }
}
