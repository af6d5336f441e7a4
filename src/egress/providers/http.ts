/**
 * Small HTTP helpers for probes: bounded by a timeout, never throwing on a status,
 * and reporting network failures as a short human reason.
 * @module
 */
import type { ProbeTarget } from "./types.ts"

export interface ProbeResponse {
  status: number
  headers: Headers
  text: string
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: unknown
}

/** Headers to send to a backend on our own behalf (probes). */
export function authHeaders(backend: ProbeTarget): Record<string, string> {
  return backend.apiKey ? { authorization: `Bearer ${backend.apiKey}` } : {}
}

/**
 * GET (or POST) a probe URL. Resolves with the response, or rejects with an Error
 * whose message is a short reason ("connection refused", "timed out after 5000 ms").
 */
export async function probeRequest(
  url: string,
  opts: { timeoutMs: number; headers?: Record<string, string>; method?: string; body?: unknown }
): Promise<ProbeResponse> {
  const init: RequestInit = {
    method: opts.method ?? "GET",
    headers: { accept: "application/json", ...opts.headers },
    signal: AbortSignal.timeout(opts.timeoutMs),
  }
  if (opts.body !== undefined) {
    init.body = JSON.stringify(opts.body)
    ;(init.headers as Record<string, string>)["content-type"] = "application/json"
  }
  let res: Response
  try {
    res = await fetch(url, init)
  } catch (err) {
    throw new Error(describeFetchError(err, opts.timeoutMs))
  }
  let text = ""
  try {
    text = await res.text()
  } catch (err) {
    throw new Error(describeFetchError(err, opts.timeoutMs))
  }
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, text, json }
}

/** Turn fetch's many error shapes into a few words a human can act on. */
export function describeFetchError(err: unknown, timeoutMs?: number): string {
  const e = err as { name?: string; code?: string; message?: string }
  if (e?.name === "TimeoutError") return timeoutMs ? `timed out after ${timeoutMs} ms` : "timed out"
  if (e?.name === "AbortError") return "aborted"
  if (e?.code === "ConnectionRefused" || e?.code === "ECONNREFUSED") return "connection refused"
  if (e?.code === "ECONNRESET") return "connection reset"
  if (e?.code === "FailedToOpenSocket") return "connection failed"
  return e?.message ? String(e.message).slice(0, 200) : String(err)
}

/** Object guard for parsed JSON. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v)
}

/** `{ data: [...] }` (OpenAI) as an array of objects; tolerates `data: null` (Ollama). */
export function dataArray(body: unknown): Record<string, unknown>[] {
  if (!isObject(body)) return []
  const data = body.data
  return Array.isArray(data) ? data.filter(isObject) : []
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, "")
}

/** The OpenAI API base for a server URL: `/v1` appended unless the URL already has a path. */
export function openaiBase(url: string): string {
  let base = bases.get(url)
  if (base === undefined) {
    base = computeBase(url)
    // A handful of backends, each asked once per request: remember the answer.
    if (bases.size > 1000) bases.clear()
    bases.set(url, base)
  }
  return base
}

const bases = new Map<string, string>()

function computeBase(url: string): string {
  const base = trimSlash(url)
  try {
    const path = new URL(base).pathname
    if (path && path !== "/") return base
  } catch {
    // Config validation rejects bad URLs; fall through for discovered ones.
  }
  return `${base}/v1`
}

export function positiveInt(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : undefined
}
