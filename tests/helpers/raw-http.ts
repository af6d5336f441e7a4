/**
 * A raw HTTP/1.1 client over a TCP socket, for requests `fetch` refuses to send:
 * malformed request lines and headers, lying Content-Length, broken chunked framing,
 * bodies that stall, trickle or never end, and clients that vanish mid-upload.
 */
import { connect, type Socket } from "node:net"

export interface RawResponse {
  /** 0 when the server answered nothing before closing or the deadline. */
  status: number
  headers: Record<string, string>
  body: string
  /** The server closed the connection (after or instead of answering). */
  closed: boolean
  /** Our own deadline ran out with the response still incomplete. */
  timedOut: boolean
  ms: number
}

export interface RawOptions {
  /** Give up waiting for a complete response after this long (default 5 s). */
  timeoutMs?: number
  /** Runs once connected, after `data` is written: stream more, stall, or destroy. */
  then?: (socket: Socket) => void | Promise<void>
}

/** Send `data` as-is to 127.0.0.1:`port` and read back one response. */
export function rawRequest(port: number, data: string | Uint8Array, opts: RawOptions = {}): Promise<RawResponse> {
  const started = performance.now()
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1")
    let buf = Buffer.alloc(0)
    let settled = false
    const finish = (closed: boolean, timedOut: boolean) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ ...parse(buf), closed, timedOut, ms: performance.now() - started })
    }
    const timer = setTimeout(() => finish(false, true), opts.timeoutMs ?? 5000)
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      if (complete(buf)) finish(false, false)
    })
    // A reset while we still write (the server refused the body early) is not our
    // verdict: whatever arrived before it is the response.
    socket.on("error", () => {})
    socket.on("close", () => finish(true, false))
    socket.on("connect", async () => {
      socket.write(data)
      try {
        await opts.then?.(socket)
      } catch {
        // the server may close while we are still writing: that is a result, not a failure
      }
    })
  })
}

function split(buf: Buffer): { head: string; body: Buffer } | undefined {
  const end = buf.indexOf("\r\n\r\n")
  if (end < 0) return undefined
  return { head: buf.subarray(0, end).toString("latin1"), body: buf.subarray(end + 4) }
}

function headersOf(head: string): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":")
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return headers
}

/** Enough bytes for a whole response (by Content-Length or a final chunk)? */
function complete(buf: Buffer): boolean {
  const parts = split(buf)
  if (!parts) return false
  const headers = headersOf(parts.head)
  if (headers["content-length"] !== undefined) return parts.body.length >= Number(headers["content-length"])
  if (headers["transfer-encoding"]?.includes("chunked")) return parts.body.includes("0\r\n\r\n")
  // No framing: the body runs until the server closes (Bun's own error answers).
  return false
}

function dechunk(body: Buffer): Buffer {
  const out: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = body.indexOf("\r\n", at)
    if (eol < 0) break
    const size = parseInt(body.subarray(at, eol).toString("latin1"), 16)
    if (!size) break
    out.push(body.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
  return Buffer.concat(out)
}

function parse(buf: Buffer): Pick<RawResponse, "status" | "headers" | "body"> {
  const parts = split(buf)
  if (!parts) return { status: 0, headers: {}, body: "" }
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(parts.head)?.[1] ?? 0)
  const headers = headersOf(parts.head)
  const body = headers["transfer-encoding"]?.includes("chunked") ? dechunk(parts.body) : parts.body
  return { status, headers, body: body.toString("utf8") }
}

/** A request head with CRLF line ends; `headers` lines are sent exactly as given. */
export function head(method: string, path: string, headers: string[] = []): string {
  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`
}

/** Write `chunk` and wait until the socket has taken it (backpressure, not a timer). */
export function write(socket: Socket, chunk: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return reject(new Error("socket closed"))
    socket.write(chunk, (err) => (err ? reject(err) : resolve()))
  })
}
