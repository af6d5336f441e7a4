/**
 * Shared state against embedded state: two `nexus serve` processes, identical but for
 * `[state] url` (a redis-server on 127.0.0.1), each with a monthly budget and keys
 * required; requests carry a key with rpm and tpm limits (its buckets are checked on
 * Redis, atomically, on every request) and a session header. Reported: the c=1 latency
 * each adds (wrk p50, p99), and the CPU time the Nexus process spends per request at c=64
 * in alternating rounds (the median of per-round ratios); Redis's own CPU is its own.
 *
 *   bun scripts/bench.ts --state [--quick] [--json]
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "../../emulators/ports.ts"
import { emulatorCommand } from "./emulator.ts"
import { cpuMicros, median } from "./proc.ts"
import { wrk } from "./wrk.ts"

const ROOT = new URL("../..", import.meta.url).pathname
const REDIS = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => Bun.which(p))

export interface StateReport {
  c1: Record<"embedded" | "shared", { p50Ms: number; p99Ms: number }>
  cpuUsPerRequest: Record<"embedded" | "shared", number>
  /** shared p50 - embedded p50, ms (target <= 0.3) */
  addedP50Ms: number
  /** median of per-round shared / embedded CPU per request (target <= 1.10) */
  cpuRatio: number
}

async function waitFor(url: string, init?: RequestInit): Promise<Response> {
  for (let i = 0; i < 400; i++) {
    const r = await fetch(url, init).catch(() => undefined)
    if (r && r.status < 500) return r
    await Bun.sleep(25)
  }
  throw new Error(`not ready: ${url}`)
}

export const stateBenchAvailable = () => REDIS !== undefined && Bun.which("wrk") !== null

export async function benchState(opts: { quick: boolean; log: (line: string) => void }): Promise<StateReport> {
  const dir = mkdtempSync(join(tmpdir(), "nexus-bench-state-"))
  const children: ReturnType<typeof Bun.spawn>[] = []
  const spawn = (cmd: string[], env: Record<string, string> = {}) => {
    const p = Bun.spawn(cmd, { cwd: ROOT, env: { ...process.env, ...env }, stdout: "ignore", stderr: "ignore" })
    children.push(p)
    return p
  }
  try {
    const redisPort = freePort()
    spawn([REDIS!, "--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir])
    const emuPort = freePort()
    spawn(emulatorCommand({ kind: "vllm", port: emuPort, models: ["fast"], chunks: 8 }))
    await waitFor(`http://127.0.0.1:${emuPort}/health`)
    const start = (name: "embedded" | "shared") => {
      const port = freePort()
      const config = join(dir, `${name}.toml`)
      const state = name === "shared" ? `[state]\nurl = "redis://127.0.0.1:${redisPort}/0"\n` : ""
      writeFileSync(
        config,
        `[server]\nhost = "127.0.0.1"\nport = ${port}\n[logging]\nlevel = "warn"\n[discovery]\nenabled = false\n[auth]\nrequired = true\n[routing.budget]\nmonthly_limit_usd = 100\n${state}[[backends]]\nname = "fast"\nurl = "http://127.0.0.1:${emuPort}"\ntype = "vllm"\n`
      )
      const proc = spawn([process.execPath, join(ROOT, "src/main.ts"), "serve", "--config", config], { NEXUS_DATA_DIR: join(dir, `data-${name}`) })
      return { name, url: `http://127.0.0.1:${port}`, proc }
    }
    const targets = [start("embedded"), start("shared")]
    const scripts: Record<string, string> = {}
    for (const t of targets) {
      await waitFor(`${t.url}/health`)
      const made = await waitFor(`${t.url}/v1/keys`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "bench", rpm: 100_000_000, tpm: 1_000_000_000 }) })
      const { secret } = (await made.json()) as { secret: string }
      scripts[t.name] = join(dir, `${t.name}.lua`)
      writeFileSync(
        scripts[t.name]!,
        `wrk.method = "POST"\nwrk.body = '{"model":"fast","messages":[{"role":"user","content":"hello there"}],"stream":false}'\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer ${secret}"\nwrk.headers["X-Nexus-Session"] = "bench"\n`
      )
    }
    const url = (t: (typeof targets)[number]) => `${t.url}/v1/chat/completions`
    const c1 = {} as StateReport["c1"]
    for (const t of targets) {
      opts.log(`state bench: ${t.name} c=1 ...`)
      wrk(url(t), 64, opts.quick ? 1 : 3, scripts[t.name]!)
      const w = wrk(url(t), 1, opts.quick ? 2 : 5, scripts[t.name]!)
      if (w.failed > 0) throw new Error(`${t.name}: ${w.failed} failed answers at c=1`)
      c1[t.name] = { p50Ms: w.p50Ms, p99Ms: w.p99Ms }
    }
    const rounds: Record<string, number[]> = { embedded: [], shared: [] }
    const count = opts.quick ? 5 : 9
    opts.log(`state bench: c=64, ${count} alternating rounds ...`)
    for (let r = 0; r < count; r++) {
      for (const t of targets) {
        const before = cpuMicros(t.proc.pid)
        const w = wrk(url(t), 64, opts.quick ? 1 : 3, scripts[t.name]!)
        rounds[t.name]!.push((cpuMicros(t.proc.pid) - before) / w.requests)
      }
    }
    return {
      c1,
      cpuUsPerRequest: { embedded: median(rounds.embedded!), shared: median(rounds.shared!) },
      addedP50Ms: c1.shared.p50Ms - c1.embedded.p50Ms,
      cpuRatio: median(rounds.shared!.map((s, i) => s / rounds.embedded![i]!)),
    }
  } finally {
    for (const c of children) c.kill("SIGKILL")
  }
}

export function printState(r: StateReport): void {
  const mark = (ok: boolean) => (ok ? "PASS" : "MISS")
  console.log(`[state] on redis-server against embedded state (keys with rpm/tpm, budget, a session header):`)
  console.log(`  c=1 p50 / p99: embedded ${r.c1.embedded.p50Ms.toFixed(3)} / ${r.c1.embedded.p99Ms.toFixed(3)} ms, shared ${r.c1.shared.p50Ms.toFixed(3)} / ${r.c1.shared.p99Ms.toFixed(3)} ms`)
  console.log(`  added latency c=1 p50, shared - embedded: ${r.addedP50Ms.toFixed(3)} ms (target <= 0.3 ms) ${mark(r.addedP50Ms <= 0.3)}`)
  console.log(`  CPU per request c=64: embedded ${r.cpuUsPerRequest.embedded.toFixed(1)} µs, shared ${r.cpuUsPerRequest.shared.toFixed(1)} µs; shared / embedded ${r.cpuRatio.toFixed(2)} (target <= 1.10) ${mark(r.cpuRatio <= 1.1)}`)
}
