/**
 * Start a real Nexus (`startGateway` on `Bun.serve`, port 0) for a test, with the
 * request log captured as JSON lines so tests can read what was logged.
 */
import { Writable } from "node:stream"
import { defaultConfig } from "../../src/config/load.ts"
import { defaultZone } from "../../src/core/locality.ts"
import type { BackendConfig, NexusConfig } from "../../src/config/types.ts"
import { createLogger } from "../../src/observability/log.ts"
import { startGateway, type Gateway } from "../../src/app/gateway.ts"
import type { Clock } from "../../src/core/clock.ts"

export interface TestNexus extends Gateway {
  logs: Record<string, unknown>[]
  /** POST JSON to a path of this Nexus. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>
  get(path: string): Promise<Response>
  inFlight(): number
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] }

/** A backend entry with the defaults a config file would give it. */
export function backend(name: string, url: string, type: BackendConfig["type"], extra: Partial<BackendConfig> = {}): BackendConfig {
  return { name, url, type, priority: 50, zone: defaultZone(type), tier: 1, models: [], ...extra }
}

export async function startNexus(
  overrides: DeepPartial<NexusConfig> & { backends?: BackendConfig[] } = {},
  opts: { env?: Record<string, string | undefined>; dataDir?: string; loadConfig?: () => Promise<NexusConfig>; clock?: Clock } = {}
): Promise<TestNexus> {
  const base = defaultConfig()
  const config: NexusConfig = {
    ...base,
    server: { ...base.server, host: "127.0.0.1", port: 0, ...overrides.server },
    discovery: { ...base.discovery, enabled: false, advertise: false, ...overrides.discovery },
    health_check: { ...base.health_check, ...overrides.health_check },
    routing: {
      ...base.routing,
      ...overrides.routing,
      weights: { ...base.routing.weights, ...overrides.routing?.weights },
      circuit_breaker: { ...base.routing.circuit_breaker, ...overrides.routing?.circuit_breaker },
    } as NexusConfig["routing"],
    queue: { ...base.queue, ...overrides.queue },
    responses: { ...base.responses, ...overrides.responses },
    fleet: { ...base.fleet, ...overrides.fleet } as NexusConfig["fleet"],
    backends: overrides.backends ?? [],
    logging: { ...base.logging, level: "debug", format: "json", ...overrides.logging },
    pricing: { ...base.pricing, ...(overrides.pricing as NexusConfig["pricing"]) },
    auth: { ...base.auth, ...overrides.auth },
    state: { ...base.state, ...overrides.state },
  }
  const logs: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n")) {
        if (line.trim()) logs.push(JSON.parse(line))
      }
      done()
    },
  }) as unknown as NodeJS.WriteStream
  const log = createLogger({ level: config.logging.level, format: "json", stream })
  const env = { ...opts.env, ...(opts.dataDir ? { NEXUS_DATA_DIR: opts.dataDir } : {}) }
  const gw = await startGateway(config, { log, env, persist: opts.dataDir !== undefined, loadConfig: opts.loadConfig, clock: opts.clock })
  await gw.deps.firstProbe
  const nexus = Object.assign(gw, {
    logs,
    post: (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${gw.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    get: (path: string) => fetch(`${gw.url}${path}`),
    inFlight: () => gw.deps.registry.list().reduce((n, b) => n + b.stats.inFlight, 0),
  })
  // Lines are written in batches: whoever reads the log sees every line written so far.
  Object.defineProperty(nexus, "logs", { get: () => (log.flush(), logs) })
  return nexus
}

/** A minimal valid chat body. */
export function chat(model: string, extra: Record<string, unknown> = {}) {
  return { model, messages: [{ role: "user", content: "Say hello" }], ...extra }
}

const hi = () => [{ role: "user", content: "hi" }]

/**
 * A minimal valid body for every endpoint that names a model, by path. `stream` is sent as
 * given (left out when undefined; Ollama then streams); embeddings take none.
 */
export const ENDPOINT_BODIES: Record<string, (model: string, stream?: boolean) => Record<string, unknown>> = {
  "/v1/chat/completions": (model, stream) => ({ model, stream, messages: hi() }),
  "/v1/messages": (model, stream) => ({ model, stream, max_tokens: 16, messages: hi() }),
  "/v1/responses": (model, stream) => ({ model, stream, input: "hi" }),
  "/api/chat": (model, stream) => ({ model, stream, messages: hi() }),
  "/api/generate": (model, stream) => ({ model, stream, prompt: "hi" }),
  "/v1/embeddings": (model) => ({ model, input: "hi" }),
  "/api/embed": (model) => ({ model, input: "hi" }),
}
