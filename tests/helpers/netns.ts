/**
 * Network namespaces for tests that need real multicast (mDNS) without a single packet
 * reaching this machine's own interfaces: two joined by a veth pair, or several on a
 * bridge that itself lives in a namespace of its own. Needs root and iproute2;
 * `netnsAvailable()` says whether this machine can.
 */
import { randomBytes } from "node:crypto"
import type { WaitOptions } from "./wait.ts"

/** Polling through a namespace spawns curl each time: poll less often, allow for slow starts. */
export const NS_POLL: WaitOptions = { timeoutMs: 10_000, everyMs: 100 }

export interface NetPair {
  a: string
  b: string
  addrA: string
  addrB: string
  /** Start a process inside a namespace (stdin is a pipe the test may write to). */
  spawn(ns: string, cmd: string[], env?: Record<string, string>): Bun.Subprocess<"pipe", "pipe", "pipe">
  /** HTTP from inside a namespace (curl); resolves with status, headers (lowercase) and body. */
  http(ns: string, url: string, body?: unknown): Promise<HttpResult>
  destroy(): void
}

function ip(...args: string[]): void {
  const r = Bun.spawnSync(["ip", ...args], { stderr: "pipe" })
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.toString().trim()}`)
}

let available: boolean | undefined
export function netnsAvailable(): boolean {
  if (available !== undefined) return available
  if (process.platform !== "linux" || process.getuid?.() !== 0 || !Bun.which("ip") || !Bun.which("curl") || !Bun.which("unshare")) return (available = false)
  const probe = `nx-probe-${randomBytes(3).toString("hex")}`
  try {
    ip("netns", "add", probe)
    ip("netns", "del", probe)
    return (available = true)
  } catch {
    return (available = false)
  }
}

export interface Namespace {
  name: string
  /** Start a process inside the namespace (stdin is a pipe the test may write to). */
  spawn(cmd: string[], env?: Record<string, string>): Bun.Subprocess<"pipe", "pipe", "pipe">
  http(url: string, body?: unknown): Promise<HttpResult>
  destroy(): void
}

/** One namespace with only loopback: its own ports 11434, 8080, ... all free. */
export function createNamespace(): Namespace {
  const name = `nx-${randomBytes(4).toString("hex")}`
  ip("netns", "add", name)
  ip("-n", name, "link", "set", "lo", "up")
  const procs: Bun.Subprocess[] = []
  return {
    name,
    spawn(cmd, env = {}) {
      const p = Bun.spawn(["ip", "netns", "exec", name, ...cmd], { env: { ...process.env, ...env }, stdin: "pipe", stdout: "pipe", stderr: "pipe" })
      procs.push(p)
      return p
    },
    http: (url, body) => curlIn(name, url, body),
    destroy() {
      for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL")
      Bun.spawnSync(["ip", "netns", "del", name])
    },
  }
}

export interface HttpResult {
  status: number
  headers: Record<string, string>
  body: string
}

async function curlIn(ns: string, url: string, body?: unknown): Promise<HttpResult> {
  const args = ["ip", "netns", "exec", ns, "curl", "-s", "-m", "10", "-D", "-", "-o", "-", "-w", "\n%{http_code}", url]
  if (body !== undefined) args.push("-H", "content-type: application/json", "--data-binary", JSON.stringify(body))
  const p = Bun.spawn(args, { stdout: "pipe" })
  const out = await new Response(p.stdout).text()
  await p.exited
  const cut = out.lastIndexOf("\n")
  const end = out.indexOf("\r\n\r\n")
  const headers: Record<string, string> = {}
  for (const line of (end < 0 ? "" : out.slice(0, end)).split("\r\n").slice(1)) {
    const colon = line.indexOf(":")
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status: Number(out.slice(cut + 1)) || 0, headers, body: end < 0 ? out.slice(0, cut) : out.slice(end + 4, cut) }
}

export function createNetPair(): NetPair {
  const tag = randomBytes(3).toString("hex")
  const a = `nx-a-${tag}`
  const b = `nx-b-${tag}`
  const subnet = `10.${100 + (parseInt(tag.slice(0, 2), 16) % 100)}.${parseInt(tag.slice(2, 4), 16)}`
  const addrA = `${subnet}.1`
  const addrB = `${subnet}.2`
  ip("netns", "add", a)
  ip("netns", "add", b)
  ip("link", "add", `va${tag}`, "type", "veth", "peer", "name", `vb${tag}`)
  ip("link", "set", `va${tag}`, "netns", a)
  ip("link", "set", `vb${tag}`, "netns", b)
  for (const [ns, dev, addr] of [
    [a, `va${tag}`, addrA],
    [b, `vb${tag}`, addrB],
  ] as const) {
    ip("-n", ns, "addr", "add", `${addr}/24`, "dev", dev)
    ip("-n", ns, "link", "set", "lo", "up")
    ip("-n", ns, "link", "set", dev, "up")
    // Multicast leaves by the veth, never by a default route (there is none).
    ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", dev)
  }
  const procs: Bun.Subprocess[] = []
  return {
    a,
    b,
    addrA,
    addrB,
    spawn(ns, cmd, env = {}) {
      const p = Bun.spawn(["ip", "netns", "exec", ns, ...cmd], { env: { ...process.env, ...env }, stdin: "pipe", stdout: "pipe", stderr: "pipe" })
      procs.push(p)
      return p
    },
    http: (ns, url, body) => curlIn(ns, url, body),
    destroy() {
      for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL")
      for (const ns of [a, b]) Bun.spawnSync(["ip", "netns", "del", ns])
    },
  }
}

/**
 * `cmd` run with its own hostname (a UTS namespace of its own), as on a separate machine:
 * the way to get two boxes that share a name.
 */
export function asHost(hostname: string, cmd: string[]): string[] {
  return ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', hostname, ...cmd]
}

export interface LanHost extends Namespace {
  addr: string
}

export interface Lan {
  hosts: LanHost[]
  /** Take host `i` off the LAN (false) or put it back (true). */
  plug(i: number, connected: boolean): void
  destroy(): void
}

/**
 * `count` namespaces on one LAN segment: a bridge (multicast snooping off, so mDNS
 * reaches every port) inside a namespace of its own, one veth per host.
 */
export function createLan(count: number): Lan {
  const tag = randomBytes(3).toString("hex")
  const sw = `nx-sw-${tag}`
  const subnet = `10.${100 + (parseInt(tag.slice(0, 2), 16) % 100)}.${parseInt(tag.slice(2, 4), 16)}`
  ip("netns", "add", sw)
  ip("-n", sw, "link", "add", "name", "br0", "type", "bridge", "mcast_snooping", "0")
  ip("-n", sw, "link", "set", "br0", "up")
  const hosts: LanHost[] = []
  try {
    for (let i = 0; i < count; i++) {
      const addr = `${subnet}.${i + 1}`
      const host = { ...createNamespace(), addr }
      hosts.push(host)
      ip("-n", sw, "link", "add", `p${i}`, "type", "veth", "peer", "name", "eth0", "netns", host.name)
      ip("-n", sw, "link", "set", `p${i}`, "master", "br0")
      ip("-n", sw, "link", "set", `p${i}`, "up")
      ip("-n", host.name, "addr", "add", `${addr}/24`, "dev", "eth0")
      ip("-n", host.name, "link", "set", "eth0", "up")
      // Multicast leaves by the LAN, never by a default route (there is none).
      ip("-n", host.name, "route", "add", "224.0.0.0/4", "dev", "eth0")
    }
  } catch (err) {
    for (const h of hosts) h.destroy()
    Bun.spawnSync(["ip", "netns", "del", sw])
    throw err
  }
  return {
    hosts,
    // Off the bridge rather than down: the host keeps its carrier and its address, as when
    // it sits on another segment, and does not just lose its network.
    plug: (i, connected) => ip("-n", sw, "link", "set", `p${i}`, ...(connected ? ["master", "br0"] : ["nomaster"])),
    destroy() {
      for (const h of hosts) h.destroy()
      Bun.spawnSync(["ip", "netns", "del", sw])
    },
  }
}
