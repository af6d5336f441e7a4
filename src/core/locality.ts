/**
 * Which kinds of backend there are and where each runs. Each provider declares it in its
 * own file (egress/providers/): its type name, whether its servers are somebody else's
 * cloud, and where its API lives by default. The provider registry hands those
 * declarations down here, so that configuration, which sits below the providers, reads
 * them without importing them. A configured `zone` wins.
 * @module
 */
import type { BackendType, Zone } from "./backend.ts"

/** What a provider declares about where its servers run. */
export interface Locality {
  /** Its servers are somebody else's cloud: backends of this type default to the open zone. */
  cloud: boolean
  /** Where its API lives when a config gives no `url` (proxies and tests override it). */
  defaultUrl?: string
}

/** A server that runs on the operator's own hardware. */
export const ON_PREMISES: Locality = Object.freeze({ cloud: false })

let declared: Readonly<Record<BackendType, Locality>> | undefined

const NOT_DECLARED = "providers are not declared: import src/egress/providers/index.ts before reading a configuration"

/**
 * Every backend type, in the provider registry's order: filled when the registry loads
 * (read it after that; `backendTypes()` says so when it is too early).
 */
export const BACKEND_TYPES: readonly BackendType[] = []

/** Other spellings of type names (other tools', the original's), lower-case, filled with BACKEND_TYPES. */
export const TYPE_ALIASES: Readonly<Record<string, BackendType>> = {}

/** Called by the provider registry when it loads: every type, no default for a forgotten one. */
export function declareLocalities(table: Readonly<Record<BackendType, Locality>>, aliases: Readonly<Record<string, BackendType>> = {}): void {
  declared = table
  ;(BACKEND_TYPES as BackendType[]).splice(0, BACKEND_TYPES.length, ...(Object.keys(table) as BackendType[]))
  Object.assign(TYPE_ALIASES, aliases)
}

/** The backend types, or an error naming the import that declares them. */
export function backendTypes(): readonly BackendType[] {
  if (!declared) throw new Error(NOT_DECLARED)
  return BACKEND_TYPES
}

function localityOf(type: BackendType): Locality | undefined {
  if (!declared) throw new Error(NOT_DECLARED)
  return declared[type]
}

export function defaultUrl(type: BackendType): string | undefined {
  return localityOf(type)?.defaultUrl
}

/** The types that have a default URL (for messages). */
export function typesWithDefaultUrl(): BackendType[] {
  return Object.keys(declared ?? {}).filter((t) => defaultUrl(t as BackendType) !== undefined) as BackendType[]
}

/** Only a type that declares itself on-premises is restricted by default (an unknown one is open). */
export function defaultZone(type: BackendType): Zone {
  return localityOf(type)?.cloud === false ? "restricted" : "open"
}

/**
 * The zone of a backend an operator adds at run time without naming one: restricted only
 * for a server of a local type at a loopback, private or link-local address. Anything else
 * (a public host, a cloud type) is open until the operator says otherwise.
 */
export function runtimeZone(type: BackendType, url: string): Zone {
  return defaultZone(type) === "restricted" && isPrivateUrl(url) ? "restricted" : "open"
}

/** Loopback, RFC 1918, link-local, unique-local and mDNS names count as private. */
export function isPrivateHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").replace(/\.$/, "").toLowerCase()
  if (h === "localhost" || h.endsWith(".localhost") || h.endsWith(".local") || h.endsWith(".lan")) return true
  if (h === "::1" || h.startsWith("fe80:") || /^f[cd][0-9a-f]{2}:/.test(h)) return true
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h)
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(mapped ? mapped[1]! : h)
  // A bare name (gpu-box) only resolves on the LAN; any other IPv6 literal is global.
  if (!m) return !h.includes(".") && !h.includes(":")
  const a = Number(m[1])
  const b = Number(m[2])
  return a === 127 || a === 10 || (a === 192 && b === 168) || (a === 172 && b >= 16 && b <= 31) || (a === 169 && b === 254)
}

/** Whether a URL points at a private host (an unparsable URL counts as not private). */
export function isPrivateUrl(url: string): boolean {
  try {
    return isPrivateHost(new URL(url).hostname)
  } catch {
    return false
  }
}
