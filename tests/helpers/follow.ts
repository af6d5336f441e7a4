/**
 * Follow a child process's output line by line while a test runs: `next` waits (with a
 * deadline, never a fixed sleep) for a line that matches, looking at everything seen so far.
 */
export interface Followed {
  lines: string[]
  next(match: (line: string) => boolean, timeoutMs?: number): Promise<string>
}

export function follow(stream: ReadableStream<Uint8Array>): Followed {
  const lines: string[] = []
  let buffer = ""
  let wake: (() => void) | undefined
  void (async () => {
    const decoder = new TextDecoder()
    for await (const chunk of stream) {
      buffer += decoder.decode(chunk, { stream: true })
      const parts = buffer.split("\n")
      buffer = parts.pop()!
      lines.push(...parts)
      wake?.()
    }
  })().catch(() => {})
  return {
    lines,
    async next(match, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const hit = lines.find(match)
        if (hit !== undefined) return hit
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no matching line in ${timeoutMs} ms; saw: ${lines.join(" | ")}`)
        await Promise.race([new Promise<void>((r) => (wake = r)), Bun.sleep(left)])
      }
    },
  }
}
