import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { createMetrics } from "../../src/observability/metrics.ts"
import { CachedCounter } from "../../src/observability/counter-cache.ts"
import { CachedHistogram } from "../../src/observability/histogram-cache.ts"
import { Counter, Histogram, Registry } from "../../src/observability/prom.ts"
import { createRegistry } from "../../src/registry/registry.ts"
import { hostileString } from "../helpers/hostile.ts"

/** A sample's labels as a Prometheus parser reads them: \\, \" and \n unescaped; the rest of the line after. */
function parseSample(line: string): { name: string; labels: Record<string, string>; rest: string } {
  const open = line.indexOf("{")
  const labels: Record<string, string> = {}
  let i = open + 1
  while (line[i] !== "}") {
    const eq = line.indexOf('="', i)
    const key = line.slice(i, eq)
    let value = ""
    for (i = eq + 2; line[i] !== '"'; i++) {
      if (i >= line.length) throw new Error(`unterminated label value in ${JSON.stringify(line)}`)
      if (line[i] !== "\\") value += line[i]
      else value += { n: "\n", "\\": "\\", '"': '"' }[line[++i]!] ?? `\\${line[i]}`
    }
    labels[key] = value
    i++
    if (line[i] === ",") i++
  }
  return { name: line.slice(0, open), labels, rest: line.slice(i + 1) }
}

describe("metrics families", () => {
  test("label values are escaped in the exposition", async () => {
    const m = createMetrics(createRegistry())
    m.errors.inc({ model: 'a"b\\c', type: "timeout" })
    expect(await m.registry.metrics()).toContain('nexus_errors_total{model="a\\"b\\\\c",type="timeout"} 1')
  })

  test("any label value: one sample line, and the value reads back as itself", async () => {
    await fc.assert(
      fc.asyncProperty(hostileString(), hostileString(), async (model, backend) => {
        // The request path's cached counter and a plain prom-client one (the key and ledger series).
        const registry = new Registry()
        const requests = new CachedCounter({ name: "r_total", help: "r", labelNames: ["model", "backend", "status"] as const, registers: [registry] })
        const keys = new Counter({ name: "k_total", help: "k", labelNames: ["key"] as const, registers: [registry] })
        requests.at(model, backend, "200").value++
        keys.inc({ key: model })
        const samples = (await registry.metrics()).split("\n").filter((l) => l && !l.startsWith("#")).map(parseSample)
        expect(samples).toEqual([
          { name: "r_total", labels: { model, backend, status: "200" }, rest: " 1" },
          { name: "k_total", labels: { key: model }, rest: " 1" },
        ])
      }),
      { numRuns: 300 }
    )
  })

  test("the whole exposition: HELP and TYPE per family, blank line between, gauges read at scrape time", async () => {
    const backends = createRegistry()
    const m = createMetrics(backends)
    const text = await m.registry.metrics()
    expect(text.startsWith("# HELP nexus_requests_total Requests answered, by model, backend and HTTP status.\n# TYPE nexus_requests_total counter\n\n# HELP nexus_errors_total")).toBe(true)
    expect(text.endsWith("# TYPE nexus_models_available gauge\nnexus_models_available 0\n")).toBe(true)
    expect(text).toContain("# HELP nexus_tokens_total Tokens reported by backends in `usage`.\n# TYPE nexus_tokens_total counter\n")
  })

  test("cached counters: each label set counted on its own, in prom-client's exposition; bad amounts ignored", async () => {
    const m = createMetrics(createRegistry())
    m.requests.at("llama", "box-a", "200", "false").value++
    m.requests.at("llama", "box-a", "200", "false").value++
    m.requests.at("llama", "box-b", "200", "true").value++
    m.requests.inc({ model: "llama", backend: "box-a", status: "500", stream: "false" })
    m.tokens.inc({ model: "llama", backend: "box-a", type: "prompt" }, 12)
    m.tokens.inc({ model: "llama", backend: "box-a", type: "prompt" }, -5)
    m.tokens.inc({ model: "llama", backend: "box-a", type: "prompt" }, Number.NaN)
    const text = await m.registry.metrics()
    expect(text).toContain('nexus_requests_total{model="llama",backend="box-a",status="200",stream="false"} 2\n')
    expect(text).toContain('nexus_requests_total{model="llama",backend="box-b",status="200",stream="true"} 1\n')
    expect(text).toContain('nexus_requests_total{model="llama",backend="box-a",status="500",stream="false"} 1\n')
    expect(text).toContain('nexus_tokens_total{model="llama",backend="box-a",type="prompt"} 12\n')
    // A second scrape reports the same totals, not twice them.
    m.requests.at("llama", "box-b", "200", "true").value++
    expect(await m.registry.metrics()).toContain('nexus_requests_total{model="llama",backend="box-b",status="200",stream="true"} 2\n')
    expect(await m.registry.metrics()).toContain('nexus_requests_total{model="llama",backend="box-a",status="200",stream="false"} 2\n')
  })

  test("cached histograms expose exactly what prom-client's own observe() would", async () => {
    const opts = (registry: InstanceType<typeof Registry>) => ({ name: "t_seconds", help: "t", labelNames: ["model", "backend"] as const, buckets: [0.01, 0.1, 1], registers: [registry] })
    const mine = new Registry()
    const theirs = new Registry()
    const cached = new CachedHistogram(opts(mine))
    const plain = new Histogram(opts(theirs))
    const seen: [string, string, number][] = [["a", "x", 0.005], ["a", "x", 0.05], ["a", "x", 0.05], ["b", "x", 0.5], ["a", "y", 3], ["a", "x", 0.1], ["b", "x", 2]]
    for (const [model, backend, v] of seen) {
      cached.observe([model, backend], v)
      plain.observe({ model, backend }, v)
    }
    cached.observe(["a", "x"], Number.NaN)
    const text = await mine.metrics()
    expect(text).toBe(await theirs.metrics())
    expect(text).toContain('t_seconds_bucket{le="0.1",model="a",backend="x"} 4\n')
    expect(text).toContain('t_seconds_count{model="a",backend="x"} 4\n')
  })
})
