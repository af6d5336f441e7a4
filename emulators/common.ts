/**
 * The machinery every emulator shares: request accounting (in flight, aborted),
 * faults, abortable delays, and a chunked stream whose timing tests can control.
 */
import type { Emulator, EmulatorModel, EmulatorOptions, EmulatorStats, Faults } from "./types.ts"

export const DEFAULT_REPLY = "Hello! I am an emulated model, answering through Nexus."
export const CREATED = 1755800000

export function toModels(list: (string | EmulatorModel)[] | undefined, fallback: string[]): EmulatorModel[] {
  return (list ?? fallback).map((m) => (typeof m === "string" ? { id: m } : m))
}

/** Split a reply into `n` non-empty pieces (the tokens of the stream). */
export function pieces(reply: string, n: number): string[] {
  const count = Math.max(1, n)
  const size = Math.ceil(reply.length / count)
  const out: string[] = []
  for (let i = 0; i < count; i++) out.push(reply.slice(i * size, (i + 1) * size) || " ")
  return out
}

/** Sleep that ends early (rejecting) when the signal aborts. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return signal.aborted ? Promise.reject(new Error("aborted")) : Promise.resolve()
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(t)
      reject(new Error("aborted"))
    }
    signal.addEventListener("abort", onAbort, { once: true })
  })
}

export function newStats(): EmulatorStats {
  return { requests: 0, inFlight: 0, aborted: 0, completed: 0, byPath: {}, bodies: [] }
}

/** Count a request and record it; returns its body text. */
export async function record(stats: EmulatorStats, req: Request, path: string): Promise<string> {
  stats.requests++
  stats.byPath[path] = (stats.byPath[path] ?? 0) + 1
  const body = req.method === "GET" || req.method === "HEAD" ? "" : await req.text()
  const headers: Record<string, string> = {}
  req.headers.forEach((v, k) => (headers[k] = v))
  stats.lastRequest = { path, headers, body }
  return body
}

/**
 * Track one chat request in flight. `done()` is idempotent; an abort before `done()`
 * counts in `aborted`.
 */
export function inFlight(stats: EmulatorStats, req: Request, body: string): { done(): void; signal: AbortSignal } {
  stats.inFlight++
  stats.bodies.push(body)
  if (stats.bodies.length > 200) stats.bodies.shift()
  let finished = false
  const onAbort = () => {
    if (finished) return
    finished = true
    stats.inFlight--
    stats.aborted++
  }
  req.signal.addEventListener("abort", onAbort, { once: true })
  return {
    signal: req.signal,
    done() {
      if (finished) return
      finished = true
      req.signal.removeEventListener("abort", onAbort)
      stats.inFlight--
      stats.completed++
    },
  }
}

export type Admission = { ok: true; track: ReturnType<typeof inFlight> } | { ok: false; status?: number }

/**
 * Admit one generation request the way every emulator does: count it in flight, apply
 * the faults that act before a response (hang, latency, an error status), and say how to
 * go on. `{ ok: false }` without a status means the client left while we waited.
 * `warmUp` runs before the latency (a cold model loading on first use).
 */
export async function admit(
  state: { stats: EmulatorStats; faults: Faults },
  req: Request,
  body: string,
  latencyMs: number,
  warmUp?: (signal: AbortSignal) => Promise<void>
): Promise<Admission> {
  const track = inFlight(state.stats, req, body)
  try {
    if (state.faults.hangBeforeHeaders) await untilAborted(req.signal)
    if (warmUp) await warmUp(req.signal)
    await delay(latencyMs, req.signal)
  } catch {
    return { ok: false }
  }
  const status = takeStatusFault(state.faults)
  if (status) {
    track.done()
    return { ok: false, status }
  }
  return { ok: true, track }
}

/** The status fault to apply to this chat request, consuming one from statusCount. */
export function takeStatusFault(faults: Faults): number | undefined {
  if (!faults.status) return undefined
  const status = faults.status
  if (faults.statusCount !== undefined) {
    faults.statusCount--
    if (faults.statusCount <= 0) {
      faults.status = undefined
      faults.statusCount = undefined
    }
  }
  return status
}

/** Wait forever, until the client goes away. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(new Error("aborted"))
    signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true })
  })
}

export interface StreamPlan {
  /** The events to send, in order, already framed (`data: …\n\n`). */
  events: string[]
  /** Index of the first content event (faults count chunks from here). */
  contentStart: number
  /** The server's own mid-stream error, framed (and terminator, if it sends one). */
  errorEvents: string[]
}

/**
 * A streamed body that follows the plan with the configured pacing and faults.
 * The first event goes out at once (the caller already waited `latencyMs`).
 */
export function pacedStream(
  plan: StreamPlan,
  opts: { chunkDelayMs: number; faults: Faults; track: { done(): void; signal: AbortSignal }; crash?: () => void }
): ReadableStream<Uint8Array> {
  const enc = new TextEncoder()
  const { faults, track } = opts
  let i = 0
  let closed = false
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (closed) return
      const contentIndex = i - plan.contentStart
      if (faults.midStreamError !== undefined && contentIndex === faults.midStreamError) {
        for (const e of plan.errorEvents) controller.enqueue(enc.encode(e))
        closed = true
        controller.close()
        track.done()
        return
      }
      if (faults.dieAfterChunks !== undefined && contentIndex === faults.dieAfterChunks) {
        // A killed server: every connection cut at once and the port closed. (Erroring
        // the stream instead would be reported by Bun as an uncaught error.)
        closed = true
        track.done()
        opts.crash?.()
        return
      }
      if (faults.hangAfterChunks !== undefined && contentIndex === faults.hangAfterChunks) {
        try {
          await untilAborted(track.signal)
        } catch {
          closed = true
          return
        }
      }
      if (i >= plan.events.length) {
        closed = true
        controller.close()
        track.done()
        return
      }
      if (i > 0 && opts.chunkDelayMs > 0) {
        try {
          await delay(opts.chunkDelayMs, track.signal)
        } catch {
          closed = true
          return
        }
      }
      controller.enqueue(enc.encode(plan.events[i]!))
      i++
    },
    cancel() {
      closed = true
    },
  })
}

/** JSON response, optionally gzip-compressed as a proxy in front of the server would. */
export function json(body: unknown, init: { status?: number; headers?: Record<string, string>; gzip?: boolean } = {}): Response {
  const headers = new Headers(init.headers)
  headers.set("content-type", headers.get("content-type") ?? "application/json")
  const text = JSON.stringify(body)
  if (init.gzip) {
    headers.set("content-encoding", "gzip")
    return new Response(Bun.gzipSync(new TextEncoder().encode(text)), { status: init.status ?? 200, headers })
  }
  return new Response(text, { status: init.status ?? 200, headers })
}

export function sse(data: unknown): string {
  return `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`
}

/** Rough token count the way the emulators bill usage: characters / 4. */
export function promptTokens(body: Record<string, unknown>): number {
  const messages = Array.isArray(body.messages) ? body.messages : []
  let chars = 0
  for (const m of messages) {
    const c = (m as { content?: unknown }).content
    if (typeof c === "string") chars += c.length
    else if (Array.isArray(c)) for (const p of c) chars += typeof p?.text === "string" ? p.text.length : 0
  }
  if (typeof body.prompt === "string") chars += body.prompt.length
  return Math.max(1, Math.ceil(chars / 4))
}

export function parseBody(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text)
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v : undefined
  } catch {
    return undefined
  }
}

/** Start a server and wrap it as an Emulator handle. */
export function serve(
  kind: string,
  o: { port: number; hostname: string },
  state: { stats: EmulatorStats; faults: Faults; models: EmulatorModel[]; crash?: () => void },
  defaults: string[],
  fetch: (req: Request) => Response | Promise<Response>
): Emulator {
  const server = Bun.serve({ port: o.port, hostname: o.hostname, idleTimeout: 0, fetch })
  state.crash = () => void server.stop(true)
  return {
    kind,
    url: `http://${o.hostname}:${server.port}`,
    port: server.port!,
    stats: state.stats,
    faults: state.faults,
    get models() {
      return state.models
    },
    setModels(models) {
      state.models = toModels(models, defaults)
    },
    async stop() {
      await server.stop(true)
    },
  }
}

export function options(opts: EmulatorOptions) {
  return {
    port: opts.port ?? 0,
    hostname: opts.hostname ?? "127.0.0.1",
    latencyMs: opts.latencyMs ?? 0,
    chunks: opts.chunks ?? 8,
    chunkDelayMs: opts.chunkDelayMs ?? 0,
    reply: opts.reply ?? DEFAULT_REPLY,
  }
}

/** A random id body: `n` characters drawn from `alphabet` (lowercase alphanumerics by default). */
export function randomId(n: number, alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"): string {
  let out = ""
  for (let i = 0; i < n; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)]
  return out
}
