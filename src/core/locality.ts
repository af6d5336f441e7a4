/**
 * Where a backend runs, decided in one place: cloud types default to the open zone,
 * every server on the operator's own hardware to restricted. A configured `zone` wins.
 * @module
 */
import type { BackendType, Zone } from "./backend.ts"

/** Types whose default URL is somebody else's cloud. */
export const CLOUD_TYPES: readonly BackendType[] = ["openai", "anthropic", "google"]

/** Where each cloud type lives when a config gives no `url` (proxies and tests override it). */
export const DEFAULT_URLS: Partial<Record<BackendType, string>> = {
  openai: "https://api.openai.com",
  anthropic: "https://api.anthropic.com",
  google: "https://generativelanguage.googleapis.com",
}

export function defaultZone(type: BackendType): Zone {
  return CLOUD_TYPES.includes(type) ? "open" : "restricted"
}

/** Loopback, RFC 1918, link-local, unique-local and mDNS names count as private. */
export function isPrivateHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").replace(/\.$/, "").toLowerCase()
  if (h === "localhost" || h.endsWith(".localhost") || h.endsWith(".local") || h.endsWith(".lan")) return true
  if (h === "::1" || h.startsWith("fe80:") || /^f[cd][0-9a-f]{2}:/.test(h)) return true
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h)
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(mapped ? mapped[1]! : h)
  if (!m) return !h.includes(".") // a bare name (gpu-box) only resolves on the LAN
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
