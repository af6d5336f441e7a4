/** One wrk run against a URL, read back from wrk's `--latency` report. */

export interface WrkResult {
  requests: number
  rps: number
  p50Ms: number
  p99Ms: number
  /** Non-2xx answers and socket errors: a run with any is not a fair comparison. */
  failed: number
}

function toMs(s: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(s)
  if (!m) return Number.NaN
  const v = Number(m[1])
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v
}

function parseWrk(out: string): WrkResult {
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  return {
    requests: Number(/^\s*(\d+) requests in/m.exec(out)?.[1] ?? Number.NaN),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
    p50Ms: toMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? ""),
    p99Ms: toMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? ""),
    failed: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) + (socket ? socket.slice(1).reduce((a, n) => a + Number(n), 0) : 0),
  }
}

export function wrk(url: string, connections: number, seconds: number, script: string): WrkResult {
  const threads = connections > 1 ? 2 : 1
  const out = Bun.spawnSync(["wrk", `-t${threads}`, `-c${connections}`, `-d${seconds}s`, "--latency", "-s", script, url]).stdout.toString()
  return parseWrk(out)
}
