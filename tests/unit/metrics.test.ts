import { describe, expect, test } from "bun:test"
import { createMetrics } from "../../src/observability/metrics.ts"
import { createRegistry } from "../../src/registry/registry.ts"

describe("metrics families", () => {
  test("a labelled child is created once and reused", () => {
    const m = createMetrics(createRegistry())
    const a = m.requests.labels("llama", "gpu1", "200", "false")
    expect(m.requests.labels("llama", "gpu1", 200, false)).toBe(a)
    expect(m.requests.labels("llama", "gpu1", "200", "true")).not.toBe(a)
  })

  test("counters: the labels-object form and children add up in one series, in label order", async () => {
    const m = createMetrics(createRegistry())
    m.requests.inc({ stream: "false", status: "200", backend: "gpu1", model: "llama" })
    m.requests.labels("llama", "gpu1", "200", "false").inc()
    m.tokens.inc({ model: "llama", backend: "gpu1", type: "completion" }, 16)
    m.tokens.inc({ model: "llama", backend: "gpu1", type: "completion" }, Number.NaN)
    m.tokens.inc({ model: "llama", backend: "gpu1", type: "completion" }, -3)
    const text = await m.registry.metrics()
    expect(text).toContain('nexus_requests_total{model="llama",backend="gpu1",status="200",stream="false"} 2\n')
    expect(text).toContain('nexus_tokens_total{model="llama",backend="gpu1",type="completion"} 16\n')
  })

  test("histograms: cumulative buckets, +Inf, sum and count", async () => {
    const m = createMetrics(createRegistry())
    for (const v of [0.001, 0.02, 0.02, 400, Number.POSITIVE_INFINITY]) m.duration.observe({ model: "m", backend: "b" }, v)
    const lines = (await m.registry.metrics()).split("\n").filter((l) => l.startsWith("nexus_request_duration_seconds"))
    expect(lines).toContain('nexus_request_duration_seconds_bucket{le="0.005",model="m",backend="b"} 1')
    expect(lines).toContain('nexus_request_duration_seconds_bucket{le="0.01",model="m",backend="b"} 1')
    expect(lines).toContain('nexus_request_duration_seconds_bucket{le="0.025",model="m",backend="b"} 3')
    expect(lines).toContain('nexus_request_duration_seconds_bucket{le="300",model="m",backend="b"} 3')
    expect(lines).toContain('nexus_request_duration_seconds_bucket{le="+Inf",model="m",backend="b"} 4')
    expect(lines).toContain('nexus_request_duration_seconds_sum{model="m",backend="b"} 400.041')
    expect(lines).toContain('nexus_request_duration_seconds_count{model="m",backend="b"} 4')
  })

  test("label values are escaped in the exposition", async () => {
    const m = createMetrics(createRegistry())
    m.errors.inc({ model: 'a"b\\c', type: "timeout" })
    expect(await m.registry.metrics()).toContain('nexus_errors_total{model="a\\"b\\\\c",type="timeout"} 1')
  })

  test("the whole exposition: HELP and TYPE per family, blank line between, gauges read at scrape time", async () => {
    const backends = createRegistry()
    const m = createMetrics(backends)
    const text = await m.registry.metrics()
    expect(text.startsWith("# HELP nexus_requests_total Requests answered, by model, backend and HTTP status.\n# TYPE nexus_requests_total counter\n\n# HELP nexus_errors_total")).toBe(true)
    expect(text.endsWith("# TYPE nexus_models_available gauge\nnexus_models_available 0\n")).toBe(true)
    expect(text).toContain("# HELP nexus_tokens_total Tokens reported by backends in `usage`.\n# TYPE nexus_tokens_total counter\n")
  })
})
