/**
 * The dashboard's recent traffic: the last requests newest first, the 15-minute series in
 * buckets (old buckets forgotten), percentiles, and per-backend latency averages.
 */
import { expect, test } from "bun:test"
import type { RequestRecord } from "../../src/core/events.ts"
import { createHistory, percentile } from "../../src/observability/history.ts"

function rec(at: number, extra: Partial<RequestRecord> = {}): RequestRecord {
  return { requestId: `r${at}`, at, dialect: "openai", model: "m", status: 200, stream: false, latencyMs: 10, failures: [], clientAborted: false, midStreamError: false, ...extra }
}

test("keeps the last N requests, newest first", () => {
  const h = createHistory({ size: 3, now: () => 0 })
  for (let i = 1; i <= 5; i++) h.record(rec(i))
  expect(h.recent().map((r) => r.at)).toEqual([5, 4, 3])
})

test("a fixed window of buckets, oldest first, empty ones included and old ones forgotten", () => {
  let now = 1_000_000
  const h = createHistory({ bucketMs: 10_000, windowMs: 60_000, now: () => now })
  h.record(rec(now - 5, { latencyMs: 100, usage: { prompt_tokens: 1, completion_tokens: 7, total_tokens: 8 } }))
  h.record(rec(now - 5, { latencyMs: 300, status: 503 }))
  let s = h.series()
  expect(s).toHaveLength(6)
  expect(s.at(-1)).toMatchObject({ requests: 2, errors: 1, tokens: 7, p50: 100, p95: 300 })
  expect(s[0]).toMatchObject({ requests: 0, p50: null })
  now += 120_000
  h.record(rec(now))
  s = h.series()
  expect(s.reduce((n, p) => n + p.requests, 0)).toBe(1)
})

test("percentiles and per-backend averages of successful requests", () => {
  expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5)
  expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10)
  expect(percentile([], 50)).toBeNull()
  const h = createHistory({ now: () => 0 })
  h.record(rec(0, { backend: "a", latencyMs: 100 }))
  h.record(rec(0, { backend: "a", latencyMs: 5000, status: 502 }))
  expect(h.latencyOf("a")).toBe(100)
  h.record(rec(0, { backend: "a", latencyMs: 200 }))
  expect(h.latencyOf("a")).toBeCloseTo(120)
  expect(h.latencyOf("b")).toBeUndefined()
})
