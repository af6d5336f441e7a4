/**
 * How CLI commands reach the running server: `--url`, else `NEXUS_URL`, else
 * http://127.0.0.1:8000, else a Nexus advertising itself as `_nexus._tcp` on the LAN.
 * When nothing answers they say so, with the URL tried, and exit 1.
 * @module
 */
import { pickAddress } from "../discovery/service-url.ts"

export const DEFAULT_URL = "http://127.0.0.1:8000"

export const urlArg = {
  url: { type: "string", description: `Nexus server URL (default: $NEXUS_URL, else ${DEFAULT_URL})` },
} as const

export function serverUrl(flag: string | undefined, env = process.env): string {
  return (flag || env.NEXUS_URL || DEFAULT_URL).replace(/\/+$/, "")
}

let answered: string | undefined

/** The server that actually answered the last call (it may have been found via mDNS). */
export function answeredBy(fallback: string): string {
  return answered ?? fallback
}

/** Browse `_nexus._tcp` for a moment; the first gateway that answers, or undefined. */
export async function findAdvertisedNexus(waitMs = 2000): Promise<string | undefined> {
  const { createMdns } = await import("../discovery/mdns.ts")
  const mdns = createMdns(() => {})
  try {
    return await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), waitMs)
      mdns.browse("_nexus._tcp", {
        up(s) {
          const address = pickAddress(s.addresses)
          if (!address) return
          clearTimeout(timer)
          resolve(`http://${address}:${s.port}`)
        },
        down() {},
      })
    })
  } finally {
    await mdns.close()
  }
}

/** Exit with a message on stderr. */
export function fail(message: string, code = 1): never {
  process.stderr.write(`${message}\n`)
  process.exit(code)
}

/**
 * Call the server's API. Network failures and error responses end the command with a
 * plain sentence; the OpenAI error envelope's message is shown as is.
 */
export async function api<T>(base: string, path: string, init: { method?: string; body?: unknown; timeoutMs?: number } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" }
  if (init.body !== undefined) headers["content-type"] = "application/json"
  const token = process.env.NEXUS_ADMIN_TOKEN
  if (token) headers.authorization = `Bearer ${token}`
  let res: Response
  try {
    res = await fetch(`${base}${path}`, {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
    })
  } catch (err) {
    // Nothing said where to look and nothing is local: ask the network.
    if (base === DEFAULT_URL && !process.env.NEXUS_URL) {
      const found = await findAdvertisedNexus()
      if (found) {
        process.stderr.write(`(no server at ${base}; using ${found}, found via mDNS)\n`)
        return api<T>(found, path, init)
      }
    }
    fail(`No Nexus server answers at ${base} (${(err as Error).message}). Start one with \`nexus serve\`, or pass --url / set NEXUS_URL.`)
  }
  answered = base
  const text = await res.text()
  let body: unknown
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    fail(`${base}${path} answered ${res.status} with something that is not JSON; is this a Nexus server?`)
  }
  if (!res.ok) {
    const message = (body as { error?: { message?: string } })?.error?.message ?? `HTTP ${res.status}`
    fail(`Error from ${base}: ${message}`)
  }
  return body as T
}
