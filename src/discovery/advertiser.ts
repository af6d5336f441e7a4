/**
 * The GPU-box side of discovery (`nexus advertise`): find the inference servers on this
 * machine with the same probing and fingerprinting `serve` uses, publish one `_llm._tcp`
 * record per server (TXT: type, api_path, version, models), keep the records current as
 * servers come, go and change models, and withdraw them with goodbyes on exit.
 * @module
 */
import { realClock, type Clock } from "../core/clock.ts"
import { providerFor } from "../egress/providers/index.ts"
import { probeRequest } from "../egress/providers/http.ts"
import { lanAddress } from "../net.ts"
import type { Mdns, Published } from "./mdns.ts"
import { probeOnce, type Found } from "./probe.ts"

export interface AdvertiserOptions {
  mdns: Mdns
  ports: number[]
  intervalMs: number
  log: { info(m: string): void; warn(m: string): void }
  /** What the rounds wait on; the real clock by default. */
  clock?: Clock
}

/** TXT strings are at most 255 bytes each: keep whole model names that fit. */
export function modelsTxt(ids: string[], limit = 200): string {
  let out = ""
  for (const id of ids) {
    const next = out ? `${out},${id}` : id
    if (Buffer.byteLength(next) > limit) break
    out = next
  }
  return out
}

async function describeServer(f: Found): Promise<Record<string, string>> {
  const result = await providerFor(f.type)
    .probe({ url: f.url }, { timeoutMs: 3000, cache: new Map() })
    .catch(() => undefined)
  const txt: Record<string, string> = { type: f.type, api_path: "/v1" }
  if (result?.version) txt.version = result.version
  const ids = (result?.models ?? []).map((m) => m.id).sort()
  if (ids.length) txt.models = modelsTxt(ids)
  return txt
}

async function reachableFromLan(address: string | undefined, port: number): Promise<boolean> {
  if (!address) return true // nothing to compare with: publish and let clients try
  return probeRequest(`http://${address}:${port}/`, { timeoutMs: 1500 }).then(
    () => true,
    () => false
  )
}

export function startAdvertiser(opts: AdvertiserOptions): { stop(): Promise<void> } {
  const published = new Map<string, { record: Published; txt: string }>()
  const warnedLocal = new Set<string>()
  const clock = opts.clock ?? realClock
  let timer: unknown
  let stopped = false
  let current: Promise<void> | undefined

  async function round(): Promise<void> {
    const found = await probeOnce({ hosts: [], ports: opts.ports }).catch(() => [] as Found[])
    const seen = new Set<string>()
    const lan = lanAddress()
    for (const f of found) {
      if (!(await reachableFromLan(lan, f.port))) {
        if (!warnedLocal.has(f.id)) {
          warnedLocal.add(f.id)
          const hint = f.type === "ollama" ? " (start it with OLLAMA_HOST=0.0.0.0)" : " (start it with --host 0.0.0.0)"
          opts.log.warn(`${f.type} on port ${f.port} listens on localhost only, so other machines cannot reach it${hint}; not advertised`)
        }
        continue
      }
      warnedLocal.delete(f.id)
      seen.add(f.id)
      const txt = await describeServer(f)
      const key = JSON.stringify(txt)
      const had = published.get(f.id)
      if (had?.txt === key) continue
      if (had) await had.record.stop()
      const models = txt.models ? ` (${txt.models})` : ""
      let verb = had ? "updated" : "advertising"
      const record = opts.mdns.publish({
        // The instance name carries the host name this box ended up with (`raspberrypi-2`).
        name: (host) => `${f.type} on ${host}:${f.port}`,
        type: "_llm._tcp",
        port: f.port,
        txt,
        onPublished(at) {
          opts.log.info(`${verb} ${f.type} on port ${f.port} as "${at.instance}" on ${at.host}${models}`)
          verb = "advertising" // again, after a host rename
        },
      })
      published.set(f.id, { record, txt: key })
      if (!(await record.ready)) opts.log.warn(`${f.type} on port ${f.port} is not advertised: no mDNS name could be claimed`)
    }
    for (const [id, p] of published) {
      if (seen.has(id)) continue
      published.delete(id)
      await p.record.stop()
      opts.log.info(`withdrew ${id}: the server stopped answering`)
    }
  }

  const loop = async () => {
    current = round().catch((err: Error) => opts.log.warn(`advertise round failed: ${err.message}`))
    await current
    if (!stopped) timer = clock.setTimeout(loop, opts.intervalMs)
  }
  void loop()

  return {
    async stop() {
      stopped = true
      clock.clearTimeout(timer)
      await current
      await opts.mdns.close() // goodbye packets for everything still published
    },
  }
}
