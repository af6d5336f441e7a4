/**
 * `/metrics` as Prometheus tooling sees it: clean under `promtool check metrics`
 * (Debian's `prometheus` package; skipped where it is not installed), and every metric
 * the shipped Grafana dashboard (scripts/grafana/nexus.json) queries exists.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { startOllama, type Emulator } from "../../emulators/index.ts"
import { backend, chat, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { ROOT } from "../helpers/process.ts"
import { lacking } from "../helpers/skip.ts"

const promtool = Bun.which("promtool")
let nexus: TestNexus
let ollama: Emulator
let metrics = ""

beforeAll(async () => {
  ollama = await startOllama({ models: [{ id: "llama3.2:latest" }] })
  nexus = await startNexus({ backends: [backend("ollama", ollama.url, "ollama"), backend("gone", "http://127.0.0.1:9", "vllm")] })
  // Every kind of series: a success (histograms, tokens), a stream, a rejection, an unknown route.
  await (await nexus.post("/v1/chat/completions", chat("llama3.2:latest"))).text()
  await (await nexus.post("/v1/chat/completions", chat("llama3.2:latest", { stream: true }))).text()
  await (await nexus.post("/v1/chat/completions", chat("nope"))).text()
  await (await nexus.get("/v1/nope")).text()
  metrics = await (await nexus.get("/metrics")).text()
})

afterAll(async () => {
  await nexus.stop(0)
  await ollama.stop()
})

test.skipIf(lacking("promtool (Prometheus) is not installed", promtool))("promtool check metrics finds nothing to complain about", async () => {
  const proc = Bun.spawn([promtool!, "check", "metrics"], { stdin: new TextEncoder().encode(metrics), stdout: "pipe", stderr: "pipe" })
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  expect({ code, out: out + err }).toEqual({ code: 0, out: "" })
})

/** Sample names /metrics can have: each family, and a histogram's _bucket, _sum and _count. */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>()
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!)
    if (type === "histogram" || type === "summary") for (const s of ["_bucket", "_sum", "_count"]) names.add(`${name}${s}`)
  }
  return names
}

test("every metric the Grafana dashboard queries is in /metrics", () => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, "scripts/grafana/nexus.json"), "utf8")) as { panels: { title: string; targets: { expr: string }[] }[] }
  const exposed = exposedNames(metrics)
  const queried = new Set<string>()
  for (const panel of dashboard.panels) {
    expect(panel.targets.length).toBeGreaterThan(0)
    for (const t of panel.targets) for (const [name] of t.expr.matchAll(/\bnexus_[a-z0-9_]+/g)) queried.add(name)
  }
  expect(queried.size).toBeGreaterThan(8)
  expect([...queried].filter((n) => !exposed.has(n))).toEqual([])
  // And the other way round: no metric family left without a panel.
  const families = [...metrics.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!)
  expect(families.filter((f) => ![...queried].some((q) => q === f || q.startsWith(`${f}_`)))).toEqual([])
})
