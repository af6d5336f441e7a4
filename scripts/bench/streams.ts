/**
 * Streaming load client, run as its own process (Bun's outgoing-request cap is read at
 * start, so the bench spawns it with BUN_CONFIG_MAX_HTTP_REQUESTS raised).
 *   bun scripts/bench/streams.ts <base-url> <model> <streams> <expected-frames>
 * Opens N concurrent streams, counts `data:` frames, checks their order (the emulator's
 * reply reassembles exactly) and one [DONE] each, and records time to the first data frame.
 * Prints one JSON line.
 */
export {}

const [base, model, countArg, expectedArg] = Bun.argv.slice(2)
const count = Number(countArg)
const expected = Number(expectedArg)
const body = JSON.stringify({ model, stream: true, messages: [{ role: "user", content: "benchmark" }] })

interface One {
  ttftMs: number
  frames: number
  done: number
  text: string
  error?: string
}

async function one(): Promise<One> {
  const t0 = performance.now()
  let ttftMs = Number.NaN
  let frames = 0
  let done = 0
  let text = ""
  try {
    const res = await fetch(`${base}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body })
    if (res.status !== 200) return { ttftMs, frames, done, text, error: `HTTP ${res.status}` }
    const decoder = new TextDecoder()
    let buf = ""
    for await (const chunk of res.body!) {
      buf += decoder.decode(chunk, { stream: true })
      let cut: number
      while ((cut = buf.indexOf("\n\n")) !== -1) {
        const event = buf.slice(0, cut)
        buf = buf.slice(cut + 2)
        if (!event.startsWith("data:")) continue
        if (Number.isNaN(ttftMs)) ttftMs = performance.now() - t0
        if (event === "data: [DONE]") {
          done++
          continue
        }
        frames++
        const delta = JSON.parse(event.slice(6)).choices?.[0]?.delta?.content
        if (typeof delta === "string") text += delta
      }
    }
  } catch (err) {
    return { ttftMs, frames, done, text, error: (err as Error).message }
  }
  return { ttftMs, frames, done, text }
}

const results = await Promise.all(Array.from({ length: count }, one))
const ttfts = results.map((r) => r.ttftMs).filter((n) => !Number.isNaN(n)).sort((a, b) => a - b)
const pct = (p: number) => ttfts[Math.min(ttfts.length - 1, Math.floor(ttfts.length * p))] ?? Number.NaN
const reference = results.find((r) => !r.error)?.text ?? ""
console.log(
  JSON.stringify({
    streams: count,
    ttftP50: pct(0.5),
    ttftP99: pct(0.99),
    lostFrames: results.reduce((n, r) => n + Math.max(0, expected - r.frames), 0),
    badDone: results.filter((r) => r.done !== 1).length,
    outOfOrder: results.filter((r) => r.text !== reference).length,
    errors: results.filter((r) => r.error).length,
  })
)
