/**
 * Where Nexus's CPU goes on the non-streaming path: runs `nexus serve` under Bun's
 * sampling profiler while wrk sends c=64 non-streaming load (started at once, so the
 * idle time before load does not land on one sample), stops it with SIGTERM, and sums
 * the samples by cause (metrics, logging, abort/timer wiring, usage parse, Hono,
 * ...) and by site (a native leaf is named with its nearest JS caller).
 *
 *   bun scripts/bench/profile.ts [--seconds 8] [--log-level warn] [--out DIR] [--top 25]
 *
 * `nexus serve` re-executes itself with its runtime settings (the fetch cap, the heap size)
 * and the re-exec would drop --cpu-prof: they are set here so it does not. The profile (.cpuprofile
 * and Bun's .md summary) stays in --out.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { freePort } from "../../emulators/ports.ts"
import { emulatorCommand } from "./emulator.ts"
import { cpuMicros } from "./proc.ts"
import { SERVE_RUNTIME_ENV } from "../../src/cli/serve-runtime.ts"

const ROOT = new URL("../..", import.meta.url).pathname

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}
export interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
}

const ABORT_AND_TIMERS = new Set(["AbortController", "AbortSignal", "abort", "addEventListener", "removeEventListener", "setTimeout", "clearTimeout", "any", "timeout"])

function shortUrl(url: string): string {
  const nm = url.lastIndexOf("node_modules/")
  if (nm >= 0) return url.slice(nm + "node_modules/".length)
  const src = url.indexOf("/src/")
  if (src >= 0) return url.slice(src + 1)
  return url
}

/** The cause a sample is charged to, from its stack (leaf first). */
export function causeOf(stack: CallFrame[]): string {
  const leaf = stack[0]
  if (!leaf) return "(no stack)"
  const js = stack.find((f) => f.url)
  if (stack.some((f) => f.url.includes("prom-client") || /observability\/(prom|metrics)\.ts$/.test(f.url))) return "metrics (prom-client, or observability/prom.ts)"
  if (stack.some((f) => f.url.includes("consola") || f.url.endsWith("observability/log.ts"))) return "logging"
  if (!leaf.url && ABORT_AND_TIMERS.has(leaf.functionName)) return "abort and timer wiring"
  if (stack.some((f) => f.functionName === "usageOf" || f.url.endsWith("proxy/usage.ts"))) return "usage JSON parse (usageOf)"
  if (leaf.functionName === "randomUUID") return "crypto.randomUUID"
  if (stack.some((f) => f.url.includes("valibot"))) return "valibot"
  if (!leaf.url && leaf.functionName === "fetch") return "native fetch (upstream request)"
  if (!js) return "native, no JS caller (event loop, HTTP server I/O, GC)"
  if (js.url.includes("/hono/")) return "Hono dispatch"
  if (!leaf.url) return `native ${leaf.functionName || "(anonymous)"} in ${shortUrl(js.url)}`
  return shortUrl(js.url)
}

/** The site a sample is charged to: the leaf function, a native one named with its JS caller. */
function siteOf(stack: CallFrame[]): string {
  const leaf = stack[0]!
  const js = stack.find((f) => f.url)
  const at = (f: CallFrame) => `${f.functionName || "(anonymous)"} ${shortUrl(f.url)}:${f.lineNumber + 1}`
  if (leaf.url) return at(leaf)
  return js ? `${leaf.functionName || "(anonymous)"} [native] <- ${at(js)}` : `${leaf.functionName || "(anonymous)"} [native, no JS caller]`
}

export function summarize(profile: CpuProfile): { total: number; causes: [string, number][]; sites: [string, number][] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const hits = new Map<number, number>()
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1)
  const causes = new Map<string, number>()
  const sites = new Map<string, number>()
  for (const [id, count] of hits) {
    const stack: CallFrame[] = []
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at)!
      if (node.callFrame.functionName === "(root)") break
      stack.push(node.callFrame)
    }
    if (stack.length === 0 || stack[0]!.functionName === "(idle)" || stack[0]!.functionName === "(program)") continue
    const cause = causeOf(stack)
    causes.set(cause, (causes.get(cause) ?? 0) + count)
    const site = siteOf(stack)
    sites.set(site, (sites.get(site) ?? 0) + count)
  }
  const sort = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1])
  const total = [...causes.values()].reduce((a, b) => a + b, 0)
  return { total, causes: sort(causes), sites: sort(sites) }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      seconds: { type: "string", default: "8" },
      "log-level": { type: "string", default: "warn" },
      out: { type: "string" },
      top: { type: "string", default: "25" },
    },
  })
  const out = values.out ?? mkdtempSync(join(tmpdir(), "nexus-profile-"))
  const dir = mkdtempSync(join(tmpdir(), "nexus-profile-run-"))
  const emuPort = freePort()
  const port = freePort()
  const emu = Bun.spawn(emulatorCommand({ kind: "vllm", port: emuPort, models: ["fast"], chunks: 8 }), { cwd: ROOT, stdout: "ignore", stderr: "ignore" })
  const config = join(dir, "nexus.toml")
  writeFileSync(config, `[server]\nhost = "127.0.0.1"\nport = ${port}\n[logging]\nlevel = "${values["log-level"]}"\n[discovery]\nenabled = false\n[[backends]]\nname = "fast"\nurl = "http://127.0.0.1:${emuPort}"\ntype = "vllm"\n`)
  const lua = join(dir, "post.lua")
  writeFileSync(lua, `wrk.method = "POST"\nwrk.body = '{"model":"fast","messages":[{"role":"user","content":"hello there"}],"stream":false}'\nwrk.headers["Content-Type"] = "application/json"\n`)
  const nexus = Bun.spawn([process.execPath, "--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${out}`, join(ROOT, "src/main.ts"), "serve", "--config", config], {
    cwd: ROOT,
    env: { ...process.env, ...SERVE_RUNTIME_ENV, NEXUS_DATA_DIR: join(dir, "state") },
    stdout: "ignore",
    stderr: "ignore",
  })
  try {
    for (let i = 0; ; i++) {
      const h = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.json() as Promise<{ models: number }>).catch(() => undefined)
      if (h && h.models >= 1) break
      if (i > 400) throw new Error("nexus did not become ready")
      await Bun.sleep(25)
    }
    const before = cpuMicros(nexus.pid)
    const wrkOut = Bun.spawnSync(["wrk", "-t2", "-c64", `-d${values.seconds}s`, "-s", lua, `http://127.0.0.1:${port}/v1/chat/completions`]).stdout.toString()
    const used = cpuMicros(nexus.pid) - before
    const requests = Number(/^\s*(\d+) requests in/m.exec(wrkOut)?.[1] ?? Number.NaN)
    nexus.kill("SIGTERM")
    await nexus.exited
    const file = readdirSync(out).find((f) => f.endsWith(".cpuprofile"))
    if (!file) throw new Error(`no .cpuprofile in ${out}`)
    const { total, causes, sites } = summarize(JSON.parse(readFileSync(join(out, file), "utf8")))
    const pct = (n: number) => `${((100 * n) / total).toFixed(1).padStart(5)}%`
    console.log(`${requests} requests in ${values.seconds} s at c=64, log level ${values["log-level"]}: ${(used / requests).toFixed(1)} µs CPU per request (user + system, all threads)`)
    console.log(`${total} samples of the JS thread; profile in ${join(out, file)}\n`)
    console.log("by cause:")
    for (const [k, n] of causes) if (n / total >= 0.002) console.log(`${pct(n)}  ${k}`)
    console.log("\nby site:")
    for (const [k, n] of sites.slice(0, Number(values.top))) console.log(`${pct(n)}  ${k}`)
  } finally {
    nexus.kill("SIGKILL")
    emu.kill("SIGKILL")
  }
}
