/**
 * Zero-config discovery by probing: no inference server advertises itself over mDNS,
 * so Nexus knocks on the well-known ports of localhost and
 * of the hosts the user names, fingerprints whatever answers, and does it again
 * periodically so a server started later appears without a restart.
 * @module
 */
import { realClock, type Clock } from "../core/clock.ts"
import type { BackendType } from "../config/types.ts"
import { identify } from "./fingerprint.ts"
import { backendId } from "../core/backend.ts"

export interface Found {
  /** Stable id: type + host + port (`ollama-localhost-11434`). */
  id: string
  url: string
  type: BackendType
  host: string
  port: number
}

export interface ProbeTargets {
  hosts: string[]
  ports: number[]
  /** host:port pairs never to probe (our own listener). */
  skip?: string[]
  timeoutMs?: number
}

/**
 * `host:port` for every target, localhost first. A host given as `host:port` is probed
 * on that port only; a bare host on every port in the list.
 */
export function targets(t: ProbeTargets): { host: string; port: number }[] {
  const skip = new Set(t.skip ?? [])
  const out: { host: string; port: number }[] = []
  const seen = new Set<string>()
  const add = (host: string, port: number) => {
    const key = `${host}:${port}`
    if (skip.has(key) || seen.has(key)) return
    seen.add(key)
    out.push({ host, port })
  }
  for (const port of t.ports) add("localhost", port)
  for (const entry of t.hosts) {
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry)
    if (m) add(m[1]!.replace(/^\[|\]$/g, ""), Number(m[2]))
    else for (const port of t.ports) add(entry, port)
  }
  return out
}

/** Discovered backends are named by type, host and port. */
export const discoveredId = backendId

function urlOf(host: string, port: number): string {
  return `http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`
}

/**
 * Probe every target once, concurrently; resolves with the LLM servers that answered.
 * A closed port costs one refused connection. Another Nexus is never returned.
 */
export async function probeOnce(t: ProbeTargets): Promise<Found[]> {
  const timeoutMs = t.timeoutMs ?? 1500
  const results = await Promise.all(
    targets(t).map(async ({ host, port }) => {
      // localhost resolves to ::1 first on some systems, where servers often do not
      // listen; 127.0.0.1 is what they bind by default.
      const url = urlOf(host === "localhost" ? "127.0.0.1" : host, port)
      const who = await identify(url, { timeoutMs }).catch(() => undefined)
      if (!who?.type || who.nexus) return undefined
      return { id: discoveredId(who.type, host, port), url, type: who.type, host, port } satisfies Found
    })
  )
  return results.filter((f): f is Found => f !== undefined)
}

/**
 * Probe now and every `intervalMs`, reporting each server found (repeatedly: the
 * receiver ignores what it already has). Returns a stop function.
 */
export function startProbing(t: ProbeTargets & { intervalMs: number; clock?: Clock }, onFound: (f: Found) => void): () => void {
  const clock = t.clock ?? realClock
  let stopped = false
  let timer: unknown
  const round = async () => {
    const found = await probeOnce(t).catch(() => [] as Found[])
    if (stopped) return
    for (const f of found) onFound(f)
    timer = clock.setTimeout(round, t.intervalMs)
  }
  void round()
  return () => {
    stopped = true
    clock.clearTimeout(timer)
  }
}
