/**
 * Routing micro-benchmark: one decision with 50 backends and 200 models (target ≤ 20 µs).
 *   bun scripts/bench/routing.ts
 */
import { createRegistry } from "../../src/registry/registry.ts"
import type { ModelInfo } from "../../src/core/backend.ts"
import { createBreakers } from "../../src/routing/breaker.ts"
import { chatRequirements } from "../../src/ingress/openai/requirements.ts"
import { createRouter } from "../../src/routing/router.ts"
import { defaultConfig } from "../../src/config/load.ts"

export interface RoutingResult {
  backends: number
  models: number
  meanNs: number
  p99Ns: number
}

export function benchRouting(iterations = 100_000): RoutingResult {
  const registry = createRegistry()
  const BACKENDS = 50
  const MODELS = 200
  for (let b = 0; b < BACKENDS; b++) {
    const models = new Map<string, ModelInfo>()
    // Each backend serves 40 of the 200 models, so each model has ~10 candidates.
    for (let k = 0; k < 40; k++) {
      const id = `model-${(b * 7 + k * 5) % MODELS}`
      models.set(id, { id, contextLength: 32768, capabilities: { tools: true, vision: k % 3 === 0 }, loaded: k % 2 === 0 })
    }
    const id = `b${b}`
    const backend = registry.add({ id, name: id, url: `http://10.0.0.${b}:8000`, type: "vllm", priority: b % 10, zone: "restricted", tier: 1, source: "config", maxConcurrent: 8 })
    registry.setModels(id, [...models.values()])
    registry.setStatus(id, "healthy")
    // Load and latency as a busy fleet would have them.
    for (let k = 0; k < b % 4; k++) registry.tryAcquire(backend)
    registry.release(backend, { failed: false, latencyMs: 50 + b })
    registry.tryAcquire(backend)
  }
  const config = defaultConfig().routing
  config.aliases = { "gpt-4o": "model-42" }
  const breakers = createBreakers(() => config.circuit_breaker)
  const router = createRouter(registry, () => config, breakers)
  const body = { model: "gpt-4o", messages: [{ role: "user", content: "Summarise this paragraph for me, please." }], tools: [{ type: "function" }] }

  const samples = new Float64Array(iterations)
  let sink = 0
  for (let i = 0; i < 20_000; i++) sink += router.plan(`model-${i % MODELS}`, chatRequirements(body)).ok ? 1 : 0
  for (let i = 0; i < iterations; i++) {
    const t0 = Bun.nanoseconds()
    const plan = router.plan(i % 2 ? "gpt-4o" : `model-${i % MODELS}`, chatRequirements(body))
    samples[i] = Bun.nanoseconds() - t0
    sink += plan.ok ? 1 : 0
  }
  if (sink < 0) console.log(sink)
  const sorted = [...samples].sort((a, b) => a - b)
  const mean = samples.reduce((a, b) => a + b, 0) / iterations
  return { backends: BACKENDS, models: MODELS, meanNs: mean, p99Ns: sorted[Math.floor(iterations * 0.99)]! }
}

if (import.meta.main) {
  const r = benchRouting()
  console.log(`routing decision, ${r.backends} backends / ${r.models} models: mean ${(r.meanNs / 1000).toFixed(2)} µs, p99 ${(r.p99Ns / 1000).toFixed(2)} µs (target ≤ 20 µs)`)
}
