/**
 * Following a child process's output line by line, for tests that wait on what a
 * server logs (or an emulator reports) rather than on time.
 */
import { until } from "./wait.ts"

export interface LineFollower {
  /** Every complete line so far. */
  lines: string[]
  /** Wait for a line that matches (one seen already counts); resolves with it. */
  next(match: (line: string) => boolean, timeoutMs?: number): Promise<string>
  /** Wait until `count(lines)` reaches `n`. */
  count(match: (line: string) => boolean, n: number, timeoutMs?: number): Promise<void>
}

/** Follow one or more streams (a process's stdout and stderr) as one list of lines. */
export function follow(...streams: ReadableStream<Uint8Array>[]): LineFollower {
  const lines: string[] = []
  // Read in the background: a pending read() must never be abandoned (it would take the next chunk).
  for (const stream of streams) {
    void (async () => {
      const decoder = new TextDecoder()
      let buffer = ""
      for await (const chunk of stream) {
        buffer += decoder.decode(chunk, { stream: true })
        const parts = buffer.split("\n")
        buffer = parts.pop()!
        lines.push(...parts)
      }
      if (buffer) lines.push(buffer)
    })().catch(() => {})
  }
  return {
    lines,
    async next(match, timeoutMs = 5000) {
      try {
        return (await until(() => lines.find(match), (l) => l !== undefined, { timeoutMs, everyMs: 20 }))!
      } catch {
        throw new Error(`no matching line in ${timeoutMs} ms; saw: ${lines.join(" | ")}`)
      }
    },
    async count(match, n, timeoutMs = 10_000) {
      await until(() => lines.filter(match).length, (c) => c >= n, { timeoutMs, everyMs: 20, what: `${n} matching lines` })
    },
  }
}
