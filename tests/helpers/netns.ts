/**
 * Two network namespaces joined by a veth pair, for tests that need real multicast
 * (mDNS) without a single packet reaching this machine's own interfaces. Needs root
 * and iproute2; `netnsAvailable()` says whether this machine can.
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
  /** Start a process inside a namespace. */
  spawn(ns: string, cmd: string[], env?: Record<string, string>): Bun.Subprocess<"ignore", "pipe", "pipe">
  /** HTTP from inside a namespace (curl); resolves with status and body. */
  http(ns: string, url: string, body?: unknown): Promise<{ status: number; body: string }>
  destroy(): void
}

function ip(...args: string[]): void {
  const r = Bun.spawnSync(["ip", ...args], { stderr: "pipe" })
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.toString().trim()}`)
}

let available: boolean | undefined
export function netnsAvailable(): boolean {
  if (available !== undefined) return available
  if (process.platform !== "linux" || process.getuid?.() !== 0 || !Bun.which("ip") || !Bun.which("curl")) return (available = false)
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
  spawn(cmd: string[], env?: Record<string, string>): Bun.Subprocess<"ignore", "pipe", "pipe">
  http(url: string, body?: unknown): Promise<{ status: number; body: string }>
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
      const p = Bun.spawn(["ip", "netns", "exec", name, ...cmd], { env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
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

async function curlIn(ns: string, url: string, body?: unknown): Promise<{ status: number; body: string }> {
  const args = ["ip", "netns", "exec", ns, "curl", "-s", "-m", "10", "-o", "-", "-w", "\n%{http_code}", url]
  if (body !== undefined) args.push("-H", "content-type: application/json", "--data-binary", JSON.stringify(body))
  const p = Bun.spawn(args, { stdout: "pipe" })
  const out = await new Response(p.stdout).text()
  await p.exited
  const cut = out.lastIndexOf("\n")
  return { status: Number(out.slice(cut + 1)) || 0, body: out.slice(0, cut) }
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
      const p = Bun.spawn(["ip", "netns", "exec", ns, ...cmd], { env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
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
