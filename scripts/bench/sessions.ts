/**
 * Sticky sessions against round robin, in process: two emulated vLLM servers that model a
 * prompt cache (prefill time grows with the uncached part of the prompt), 20 two-turn
 * conversations each resending its own 40 KB prefix on the second turn, run one after the
 * other as an agent does (the second turn starts when the first has answered). Reported:
 * the second turn's time to first token, with Nexus's session affinity on and off; and
 * how a burst of 20 new sessions at once spreads over the backends.
 *
 *   bun scripts/bench.ts --sessions [--json]
 */
import { defaultConfig } from "../../src/config/load.ts"
import type { NexusConfig, RoutingStrategy } from "../../src/config/types.ts"
import { createLogger } from "../../src/observability/log.ts"
import { startGateway } from "../../src/app/gateway.ts"
import { startVllm, type Emulator } from "../../emulators/index.ts"

const CONVERSATIONS = 20
const PREFIX_CHARS = 40 * 1024
/** About what a mid-size GPU spends on prefill: 40 KB (~10k tokens) takes 200 ms. */
const PREFILL_MS_PER_K_CHARS = 5
const BASE_LATENCY_MS = 10

export interface SessionsReport {
  conversations: number
  prefix_bytes: number
  second_turn_ttft_ms: { affinity: Stats; round_robin: Stats }
  /** round_robin mean / affinity mean */
  speedup: number
  /** 1 KB prompt blocks the backends found in their caches. */
  cache_hits: { affinity: number; round_robin: number }
  burst: { strategy: string; per_backend: Record<string, number> }[]
}

interface Stats {
  mean: number
  p50: number
  max: number
}

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b)
  const r = (n: number) => Math.round(n * 10) / 10
  return { mean: r(s.reduce((a, b) => a + b, 0) / s.length), p50: r(s[Math.floor(s.length / 2)]!), max: r(s.at(-1)!) }
}

/** A deterministic 40 KB "repository context" per conversation. */
function prefix(conv: number): string {
  const words = ["alpha", "beta", "gamma", "delta", "function", "return", "const", "import", "export", "class"]
  let x = conv * 7919 + 1
  let out = `// conversation ${conv}\n`
  while (out.length < PREFIX_CHARS) {
    x = (x * 1103515245 + 12345) % 2 ** 31
    out += words[x % words.length] + (x % 7 === 0 ? "\n" : " ")
  }
  return out.slice(0, PREFIX_CHARS)
}

async function withNexus<T>(strategy: RoutingStrategy, sessions: boolean, run: (url: string, emus: Emulator[]) => Promise<T>): Promise<T> {
  const emus = await Promise.all([0, 1].map(() => startVllm({ models: ["coder"], latencyMs: BASE_LATENCY_MS, chunks: 4, prefixCache: { msPerKChars: PREFILL_MS_PER_K_CHARS } })))
  const base = defaultConfig()
  const config: NexusConfig = {
    ...base,
    server: { ...base.server, host: "127.0.0.1", port: 0 },
    discovery: { ...base.discovery, enabled: false, advertise: false },
    routing: { ...base.routing, strategy, sessions: { ...base.routing.sessions, enabled: sessions } },
    backends: emus.map((e, i) => ({ name: `gpu${i + 1}`, url: e.url, type: "vllm" as const, priority: 50, zone: "restricted" as const, tier: 1, models: [] })),
    logging: { ...base.logging, level: "silent" },
  }
  const gw = await startGateway(config, { log: createLogger({ level: "silent", format: "json" }), env: {}, persist: false })
  await gw.deps.firstProbe
  try {
    return await run(gw.url, emus)
  } finally {
    await gw.stop(0)
    await Promise.all(emus.map((e) => e.stop()))
  }
}

/** One streamed turn; resolves with the time to the first body bytes and the whole text. */
async function turn(url: string, messages: object[], session?: string): Promise<{ ttft: number; backend: string; text: string }> {
  const t0 = performance.now()
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(session ? { "x-nexus-session": session } : {}) },
    body: JSON.stringify({ model: "coder", stream: true, messages }),
  })
  const reader = res.body!.getReader()
  const first = await reader.read()
  const ttft = performance.now() - t0
  let text = new TextDecoder().decode(first.value)
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    text += new TextDecoder().decode(value)
  }
  return { ttft, backend: res.headers.get("x-nexus-backend") ?? "?", text }
}

async function conversations(url: string): Promise<number[]> {
  const second: number[] = []
  for (let c = 0; c < CONVERSATIONS; c++) {
    const messages: object[] = [
      { role: "system", content: "You are a coding agent." },
      { role: "user", content: `${prefix(c)}\n\nExplain this code.` },
    ]
    await turn(url, messages)
    messages.push({ role: "assistant", content: "It is a list of words." }, { role: "user", content: "Now shorten it." })
    second.push((await turn(url, messages)).ttft)
  }
  return second
}

async function burst(url: string): Promise<Record<string, number>> {
  const results = await Promise.all(
    Array.from({ length: CONVERSATIONS }, (_, c) => turn(url, [{ role: "user", content: `${prefix(100 + c)}\nnew session ${c}` }]))
  )
  const per: Record<string, number> = {}
  for (const r of results) per[r.backend] = (per[r.backend] ?? 0) + 1
  return per
}

const hitsOf = (emus: Emulator[]) => emus.reduce((n, e) => n + (e.state.prefixCache?.hitBlocks ?? 0), 0)

export async function benchSessions(): Promise<SessionsReport> {
  // The same router (round robin) with and without affinity, so the cache is the difference.
  const [affinity, affinityHits] = await withNexus("round_robin", true, async (url, emus) => [await conversations(url), hitsOf(emus)] as const)
  const [rr, rrHits] = await withNexus("round_robin", false, async (url, emus) => [await conversations(url), hitsOf(emus)] as const)
  const bursts: SessionsReport["burst"] = []
  for (const strategy of ["smart", "round_robin"] as const) {
    bursts.push({ strategy: `${strategy} + sessions`, per_backend: await withNexus(strategy, true, (url) => burst(url)) })
  }
  const a = stats(affinity)
  const r = stats(rr)
  return {
    conversations: CONVERSATIONS,
    prefix_bytes: PREFIX_CHARS,
    second_turn_ttft_ms: { affinity: a, round_robin: r },
    speedup: Math.round((r.mean / a.mean) * 100) / 100,
    cache_hits: { affinity: affinityHits, round_robin: rrHits },
    burst: bursts,
  }
}

export function printSessions(r: SessionsReport): void {
  const line = (name: string, s: Stats) => `  ${name.padEnd(12)} mean ${s.mean} ms  p50 ${s.p50} ms  max ${s.max} ms`
  console.log(`Sticky sessions: second-turn TTFT, ${r.conversations} two-turn conversations, ${r.prefix_bytes / 1024} KB prefix each, 2 backends with a prompt cache`)
  console.log(line("affinity", r.second_turn_ttft_ms.affinity))
  console.log(line("round robin", r.second_turn_ttft_ms.round_robin))
  console.log(`  round robin / affinity: ${r.speedup}x (target >= 2x); prompt-cache blocks reused ${r.cache_hits.affinity} vs ${r.cache_hits.round_robin}`)
  for (const b of r.burst) console.log(`  burst of ${r.conversations} new sessions (${b.strategy}): ${Object.entries(b.per_backend).map(([k, v]) => `${k}=${v}`).join(" ")}`)
}
