export {}

/**
 * A load client run as its own process: Bun reads its outgoing-request cap only at
 * start, so tests that need 1,000 requests in flight spawn this with the cap raised.
 *   bun tests/helpers/load-client.ts <url> <count> <model>
 * Prints one JSON line: { statuses: {200: n, …}, broken: n } where `broken` counts
 * streams that did not end with exactly one [DONE] or bodies that were empty.
 */
const [url, countArg, model] = Bun.argv.slice(2)
const count = Number(countArg ?? 1000)

const results = await Promise.all(
  Array.from({ length: count }, async (_, i) => {
    const stream = i % 2 === 0
    try {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model, stream, messages: [{ role: "user", content: `request ${i}` }] }),
      })
      const text = await res.text()
      const done = text.split("\n\n").filter((e) => e === "data: [DONE]").length
      const broken = res.status === 200 && (stream ? done !== 1 || text.includes('"error"') : !text.includes('"choices"'))
      return { status: String(res.status), broken }
    } catch (err) {
      return { status: `error: ${(err as Error).message}`, broken: true }
    }
  })
)

const statuses: Record<string, number> = {}
for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1
console.log(JSON.stringify({ statuses, broken: results.filter((r) => r.broken).length }))
