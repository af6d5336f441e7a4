/**
 * The machinery every emulator shares: its state, request accounting (in flight, peak,
 * aborted), faults, abortable delays, a chunked stream whose timing tests can control,
 * and the server handle.
 */
import type { Emulator, EmulatorModel, EmulatorOptions, EmulatorState, EmulatorStats, Faults } from "./types.ts"

export const CREATED = 1755800000
export const DEFAULT_REPLY = "Hello! I am an emulated model, answering through Nexus."

export function toModels(list: (string | EmulatorModel)[] | undefined, fallback: string[]): EmulatorModel[] {
  return (list ?? fallback).map((m) => (typeof m === "string" ? { id: m } : m))
}

export function newStats(): EmulatorStats {
  return { requests: 0, inFlight: 0, peakInFlight: 0, aborted: 0, completed: 0, byPath: {}, bodies: [] }
}

/** The run-time state of one emulator, from its options and the server's default models. */
export function createState(opts: EmulatorOptions, defaultModels: string[]): EmulatorState {
  return {
    stats: newStats(),
    faults: {},
    models: toModels(opts.models, defaultModels),
    latencyMs: opts.latencyMs ?? 0,
    chunks: opts.chunks ?? 8,
    chunkDelayMs: opts.chunkDelayMs ?? 0,
    reply: opts.reply ?? DEFAULT_REPLY,
    toolCalls: opts.toolCalls ?? [],
    toolRoundTrip: opts.toolRoundTrip ?? false,
    reasoning: opts.reasoning,
    loaded: new Map(),
    loading: false,
    ...(opts.prefixCache
      ? { prefixCache: { blockChars: 1024, maxBlocks: 4096, ...opts.prefixCache, blocks: new Map(), hitBlocks: 0, missBlocks: 0 } }
      : {}),
    crash: () => {},
  }
}

/** Whether a model is in memory: what changed at run time, else what it was created with. */
export function isLoaded(state: EmulatorState, m: EmulatorModel): boolean {
  return state.loaded.get(m.id) ?? m.loaded !== false
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

/** Wait forever, until the client goes away. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(new Error("aborted"))
    signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true })
  })
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

export interface Track {
  done(): void
  signal: AbortSignal
  /** The credential the request carried (Authorization, else x-api-key), for `echoKeyInError`. */
  credential: string | null
}

/**
 * Track one generation request in flight. `done()` is idempotent; an abort before
 * `done()` counts in `aborted`.
 */
export function inFlight(stats: EmulatorStats, req: Request, body: string): Track {
  stats.inFlight++
  stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight)
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
    credential: req.headers.get("authorization") ?? req.headers.get("x-api-key"),
    done() {
      if (finished) return
      finished = true
      req.signal.removeEventListener("abort", onAbort)
      stats.inFlight--
      stats.completed++
    },
  }
}

/**
 * Admit one generation request the way every emulator does: count it in flight, apply
 * the faults that act before a response (hang, latency, an error status), and hand back
 * the request's track, or the response that ends it: the server's own error body for a
 * status fault (`onFault`), or a bare 499 when the client left while we waited.
 * `warmUp` runs before the latency (a cold model loading on first use).
 */
export async function admit(
  state: EmulatorState,
  req: Request,
  body: string,
  onFault: (status: number, faults: Faults) => Response,
  warmUp?: (signal: AbortSignal) => Promise<void>
): Promise<Track | Response> {
  const track = inFlight(state.stats, req, body)
  try {
    if (state.faults.hangBeforeHeaders) await untilAborted(req.signal)
    if (warmUp) await warmUp(req.signal)
    await delay(state.latencyMs + prefillMs(state.prefixCache, body), req.signal)
  } catch {
    return new Response(null, { status: 499 })
  }
  const status = takeStatusFault(state.faults)
  if (status) {
    track.done()
    return onFault(status, state.faults)
  }
  return track
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

/** The Retry-After header a fault asks for, if any. */
export function retryAfter(faults: Faults): Record<string, string> {
  return faults.retryAfter ? { "retry-after": String(faults.retryAfter) } : {}
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
 * A streamed body that follows the plan with the state's pacing and faults. The first
 * event goes out at once (the request already waited `latencyMs`).
 */
export function pacedStream(state: EmulatorState, track: Track, plan: StreamPlan): ReadableStream<Uint8Array> {
  const enc = new TextEncoder()
  const { faults } = state
  let i = 0
  let closed = false
  const finish = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    closed = true
    controller.close()
    track.done()
  }
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (closed) return
      const contentIndex = i - plan.contentStart
      if (faults.midStreamError !== undefined && contentIndex === faults.midStreamError) {
        for (const e of plan.errorEvents) controller.enqueue(enc.encode(faults.echoKeyInError ? quoteCredential(e, track.credential) : e))
        return finish(controller)
      }
      if (faults.unterminatedBytes !== undefined && contentIndex === 0) {
        unterminated(controller, faults.unterminatedBytes)
        return finish(controller)
      }
      if (faults.dieAfterChunks !== undefined && contentIndex === faults.dieAfterChunks) {
        // A killed server: every connection cut at once and the port closed. (Erroring
        // the stream instead would be reported by Bun as an uncaught error.)
        closed = true
        track.done()
        state.crash()
        return
      }
      try {
        if (faults.hangAfterChunks !== undefined && contentIndex === faults.hangAfterChunks) await untilAborted(track.signal)
        if (i >= plan.events.length) return finish(controller)
        if (i > 0 && state.chunkDelayMs > 0) await delay(state.chunkDelayMs, track.signal)
      } catch {
        closed = true
        return
      }
      controller.enqueue(enc.encode(plan.events[i]!))
      i++
    },
    cancel() {
      closed = true
    },
  })
}

/**
 * An error event whose message starts with the credential the request carried, as a
 * verbose server or a misconfigured proxy in front of it writes (`invalid header
 * "Bearer sk-…"`): the first string under `message`, `error` or `content`.
 */
function quoteCredential(event: string, credential: string | null): string {
  const quoted = JSON.stringify(`invalid authorization header "${credential ?? ""}": `).slice(1, -1)
  return event.replace(/("(?:message|error|content)":\s*")/, (m) => `${m}${quoted}`)
}

/** A line that never ends: a data field opened and `bytes` long, written in pieces as a socket would carry it. */
function unterminated(controller: ReadableStreamDefaultController<Uint8Array>, bytes: number): void {
  const head = new TextEncoder().encode('data: {"choices":[{"index":0,"delta":{"content":"')
  controller.enqueue(head)
  const piece = new Uint8Array(64 * 1024).fill(0x41)
  for (let left = bytes - head.byteLength; left > 0; left -= piece.byteLength) controller.enqueue(left >= piece.byteLength ? piece : piece.subarray(0, left))
}

/** A streamed response that follows the plan (see `pacedStream`). */
export function streamResponse(state: EmulatorState, track: Track, plan: StreamPlan, headers: Record<string, string>): Response {
  return new Response(pacedStream(state, track, plan), { headers })
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

export function parseBody(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text)
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v : undefined
  } catch {
    return undefined
  }
}

/** A random id body: `n` characters drawn from `alphabet` (lowercase alphanumerics by default). */
export function randomId(n: number, alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"): string {
  let out = ""
  for (let i = 0; i < n; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)]
  return out
}

export type EmulatorHandle = Emulator & {
  /** Start listening (after `closed: true`); a no-op while listening. */
  listen(): void
}

/**
 * Start a server and wrap it as an Emulator handle. `headers`: set on every response (a
 * server's signature, such as `Server: llama.cpp`). `closed`: reserve the port number but
 * refuse connections until `listen()` (vLLM binds only once its engine is ready).
 */
export function serve(
  kind: string,
  opts: EmulatorOptions,
  state: EmulatorState,
  defaultModels: string[],
  fetch: (req: Request) => Response | Promise<Response>,
  { closed = false, headers = {} as Record<string, string> } = {}
): EmulatorHandle {
  const hostname = opts.hostname ?? "127.0.0.1"
  let port = opts.port ?? 0
  let server: ReturnType<typeof Bun.serve> | undefined
  const handler = async (req: Request) => {
    state.onRequest?.(req, new URL(req.url).pathname)
    const res = await fetch(req)
    for (const [k, v] of Object.entries(headers)) res.headers.set(k, v)
    return res
  }
  const listen = () => {
    if (server) return
    server = Bun.serve({ port, hostname, idleTimeout: 0, fetch: handler })
    port = server.port!
  }
  state.crash = () => {
    void server?.stop(true)
    server = undefined
  }
  if (closed) {
    const probe = Bun.serve({ port, hostname, fetch: () => new Response() })
    port = probe.port!
    probe.stop(true)
  } else listen()
  return {
    kind,
    url: `http://${hostname}:${port}`,
    port,
    state,
    stats: state.stats,
    faults: state.faults,
    get models() {
      return state.models
    },
    setModels(models) {
      state.models = toModels(models, defaultModels)
    },
    resetPeak() {
      state.stats.peakInFlight = state.stats.inFlight
    },
    listen,
    async stop() {
      await server?.stop(true)
      server = undefined
    },
  }
}

/**
 * The prefill time of a prompt under the server's prompt cache: the blocks after the
 * first one not in the cache are processed (and then cached). The prompt is the request's
 * conversation as sent (messages, input or prompt), so a later turn that repeats an
 * earlier one's messages finds them cached on the server that saw them.
 */
export function prefillMs(cache: EmulatorState["prefixCache"], body: string): number {
  if (!cache) return 0
  let prompt: string
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>
    prompt = JSON.stringify(parsed.messages ?? parsed.input ?? parsed.prompt ?? "")
  } catch {
    return 0
  }
  const { blockChars } = cache
  const full = Math.floor(prompt.length / blockChars)
  let uncached = prompt.length
  let missed = false
  let key = ""
  for (let i = 0; i < full; i++) {
    // A block's key is everything up to its end, hashed (as vLLM chains block hashes).
    key = String(Bun.hash(key + prompt.slice(i * blockChars, (i + 1) * blockChars)))
    if (!missed && cache.blocks.has(key)) {
      cache.blocks.delete(key)
      uncached -= blockChars
      cache.hitBlocks++
    } else {
      missed = true
      cache.missBlocks++
    }
    cache.blocks.set(key, true)
  }
  while (cache.blocks.size > cache.maxBlocks) cache.blocks.delete(cache.blocks.keys().next().value!)
  return (uncached / 1000) * cache.msPerKChars
}
