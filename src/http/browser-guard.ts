/**
 * The front door against web pages. A browser on the operator's machine sends whatever a
 * page it shows asks for, to any address, with the operator's network position. Two rules
 * hold for every request: the Host header names this gateway (a DNS-rebinding page sends
 * its own domain, resolved to us), and a request that changes state does not come from a
 * page on another site (its Origin or Sec-Fetch-Site says so; clients that are not
 * browsers send neither, so SDKs, curl and the CLI are unaffected).
 * @module
 */
import { hostname } from "node:os"
import type { NexusConfig } from "../config/types.ts"
import { NexusError } from "../core/errors.ts"
import { globMatch } from "../core/glob.ts"
import { hostLabel } from "../discovery/mdns-probe.ts"
import { isLoopbackHost, isOwnAddress } from "../net.ts"

/** At most this often, a Host that matched nothing makes us read the machine's names again. */
const REFRESH_MS = 30_000

interface Names {
  config: NexusConfig
  exact: Set<string>
  globs: string[]
  any: boolean
  at: number
}

/** The host of a Host header value: lower case, without port, brackets, zone or trailing dot. */
function hostName(value: string): string {
  let h = value.toLowerCase()
  if (h.charCodeAt(0) === 91) {
    const close = h.indexOf("]")
    h = close < 0 ? h.slice(1) : h.slice(1, close)
  } else {
    const colon = h.indexOf(":")
    if (colon >= 0 && colon === h.lastIndexOf(":")) h = h.slice(0, colon)
  }
  const zone = h.indexOf("%")
  if (zone >= 0) h = h.slice(0, zone)
  return h.endsWith(".") ? h.slice(0, -1) : h
}

/** The names of this machine and its configuration; addresses are `isOwnAddress`'s. */
function namesOf(config: NexusConfig): Names {
  const machine = hostname().toLowerCase()
  const label = hostLabel(machine).toLowerCase()
  const exact = new Set([machine, label, `${label}.local`, hostName(config.server.host)])
  // The .local name mDNS takes when another box already answers for ours (`label-2.local`).
  const globs = [`${label}-*.local`]
  let any = false
  for (const h of config.server.allowed_hosts ?? []) {
    if (h === "*") any = true
    else if (h.includes("*") || h.includes("?")) globs.push(h)
    else exact.add(h)
  }
  return { config, exact, globs, any, at: performance.now() }
}

function matches(n: Names, name: string): boolean {
  return n.any || n.exact.has(name) || isLoopbackHost(name) || isOwnAddress(name) || n.globs.some((g) => globMatch(g, name))
}

export interface HostCheck {
  /** Whether a Host header value (null: the request has none, as in HTTP/1.0) names this gateway. */
  allows(host: string | null): boolean
}

/**
 * Nearly every request repeats the Host of the one before, so the last accepted value is
 * a string comparison away; the names are rebuilt when the configuration is replaced
 * (reload) and, on a miss, when they are older than REFRESH_MS (a new address, a rename).
 */
export function hostCheck(config: () => NexusConfig): HostCheck {
  let names = namesOf(config())
  let lastOk = ""
  return {
    allows(host) {
      if (!host) return true
      const current = config()
      if (current !== names.config) {
        names = namesOf(current)
        lastOk = ""
      }
      if (host === lastOk) return true
      const name = hostName(host)
      let ok = matches(names, name)
      if (!ok && performance.now() - names.at > REFRESH_MS) {
        names = namesOf(current)
        ok = matches(names, name)
      }
      if (ok) lastOk = host
      return ok
    },
  }
}

/** Methods that change nothing: a page on another site may send them, and cannot read the answer. */
export function isSafeMethod(method: string): boolean {
  return method === "GET" || method === "HEAD" || method === "OPTIONS"
}

/**
 * The Origin of a request a browser sent from a page on another site, or undefined.
 * Same origin means the Origin's host[:port] is the Host the request was sent to.
 */
export function crossSiteOrigin(req: Request): string | undefined {
  const origin = req.headers.get("origin")
  if (req.headers.get("sec-fetch-site") === "cross-site") return origin ?? "another site"
  if (origin === null) return undefined
  const host = req.headers.get("host")
  const at = origin.indexOf("://")
  if (host === null || at < 0) return origin
  return origin.slice(at + 3).toLowerCase() === host.toLowerCase() ? undefined : origin
}

const quoted = (s: string) => JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…` : s)

export function misdirected(host: string): NexusError {
  return new NexusError({
    kind: "misdirected",
    message:
      `Host ${quoted(host)} does not name this Nexus, so the request is refused (a web page can point its own domain at this machine). ` +
      `If it is a name of this gateway, add it to [server] allowed_hosts.`,
    code: "host_not_allowed",
  })
}

export function crossSite(origin: string): NexusError {
  return new NexusError({
    kind: "permission",
    message:
      `Refused: a web page on another site (Origin ${quoted(origin)}) sent this request through a browser. ` +
      `Nexus takes state-changing requests from programs, the CLI and its own dashboard, not from other sites' pages.`,
    code: "cross_site_request",
  })
}

/** JSON bodies come only as application/json (or a +json type): a web page cannot send that without asking first. */
export function requireJsonBody(req: Request): void {
  const type = req.headers.get("content-type")
  const media = type?.split(";")[0]!.trim().toLowerCase() ?? ""
  if (media === "application/json" || media.endsWith("+json")) return
  throw new NexusError({
    kind: "unsupported_media_type",
    message: `Send the body as JSON with Content-Type: application/json${type ? `, not ${quoted(type)}` : " (none was sent)"}.`,
    code: "unsupported_media_type",
  })
}
