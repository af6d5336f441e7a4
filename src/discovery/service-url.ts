/**
 * From a DNS-SD record to a backend address. TXT keys (all optional): `type` (one of
 * our backend types), `api_path` (where the OpenAI API lives, default `/v1`),
 * `version`, `models` (comma-separated).
 * @module
 */
import { BACKEND_TYPES, type BackendType } from "../config/types.ts"
import type { MdnsService } from "./mdns.ts"
import { discoveredId } from "./probe.ts"

export interface Advertised {
  id: string
  /** Server root (or root + a non-standard API path); adapters add `/v1` themselves. */
  url: string
  /** From TXT `type`; undefined means "fingerprint it". */
  type?: BackendType
  host: string
  port: number
}

/** Prefer a routable IPv4 address, then any IPv4, then IPv6 (bracketed). */
export function pickAddress(addresses: string[]): string | undefined {
  const v4 = addresses.filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a))
  const best = v4.find((a) => !a.startsWith("169.254.") && !a.startsWith("127.")) ?? v4[0]
  if (best) return best
  const v6 = addresses.find((a) => a.includes(":") && !a.toLowerCase().startsWith("fe80:")) ?? addresses.find((a) => a.includes(":"))
  return v6 ? `[${v6}]` : undefined
}

/**
 * The base URL for an advertised service. `api_path` "/v1" (or none) means the usual
 * layout, so the URL is the server root and no `/v1/v1` can happen; any other path
 * (a server behind a prefix) is kept whole and used as the API base.
 */
export function advertisedUrl(address: string, port: number, apiPath: string | undefined): string {
  const root = `http://${address}:${port}`
  const path = (apiPath ?? "").trim().replace(/\/+$/, "")
  if (!path || path === "/v1") return root
  const prefixed = path.startsWith("/") ? path : `/${path}`
  return `${root}${prefixed}`
}

export function fromService(s: MdnsService, serviceType: string): Advertised | undefined {
  const address = pickAddress(s.addresses)
  if (!address || !s.port) return undefined
  const declared = s.txt.type?.toLowerCase()
  let type = (BACKEND_TYPES as readonly string[]).includes(declared ?? "") ? (declared as BackendType) : undefined
  // `_ollama._tcp` says what it is by its service type.
  if (!type && /^_?ollama\b/.test(serviceType)) type = "ollama"
  const url = advertisedUrl(address, s.port, s.txt.api_path)
  const host = (s.host || address).replace(/\.local\.?$/, "")
  return { id: discoveredId(type ?? "server", host, s.port), url, type, host, port: s.port }
}
