/**
 * The shared shape of every proxied OpenAI endpoint: read and validate the body,
 * plan, wait for capacity when that is the only obstacle, forward with failover,
 * and report the routing facts in `X-Nexus-*` headers.
 * @module
 */
import type { Context } from "hono"
import { ApiError } from "../errors.ts"
import { recordOutcome } from "../observability/record.ts"
import { forward } from "../proxy/forward.ts"
import { isCloud } from "../registry/types.ts"
import { QueueError, type QueuePriority } from "../routing/queue.ts"
import type { Requirements } from "../routing/requirements.ts"
import type { Plan } from "../routing/router.ts"
import { parseJsonObject, readBodyText } from "./body.ts"
import type { AppDeps, Env } from "./deps.ts"
import { planError } from "./plan-error.ts"

export interface ProxiedEndpoint {
  /** Path below the backend's OpenAI base, e.g. `/chat/completions`. */
  path: string
  /** Validate the parsed body; returns the model and whether the client wants a stream. */
  read(body: Record<string, unknown>): { model: string; stream: boolean }
  requirements(body: Record<string, unknown>): Requirements
}

export function priorityOf(c: Context): QueuePriority {
  return c.req.header("x-nexus-priority")?.trim().toLowerCase() === "high" ? "high" : "normal"
}

/** Plan, and while only capacity stands in the way, wait in the queue and plan again. */
async function planWithQueue(
  deps: AppDeps,
  c: Context<Env>,
  model: string,
  needs: Requirements,
  deadline: number
): Promise<Extract<Plan, { ok: true }>> {
  let plan = deps.router.plan(model, needs)
  if (!plan.ok && plan.kind === "not_found") {
    // Right after start the first probes may still be learning the model lists.
    await deps.firstProbe
    plan = deps.router.plan(model, needs)
  }
  let ticket: number | undefined
  const cfg = deps.config().queue
  const queueDeadline = Math.min(deadline, performance.now() + cfg.max_wait_seconds * 1000)
  while (!plan.ok && plan.kind === "unavailable" && plan.waitable && cfg.max_size > 0) {
    try {
      ticket = await deps.queue.wait(priorityOf(c), c.req.raw.signal, queueDeadline, ticket)
    } catch (err) {
      if (!(err instanceof QueueError)) throw err
      throw queueError(err, cfg.max_wait_seconds)
    }
    plan = deps.router.plan(model, needs)
  }
  if (!plan.ok) throw planError(plan)
  return plan
}

function queueError(err: QueueError, waitSeconds: number): ApiError {
  if (err.reason === "aborted") {
    return new ApiError({ status: 499, message: "client closed the request while queued", code: "client_closed" })
  }
  const full = err.reason === "full"
  return new ApiError({
    status: 503,
    message: full
      ? "Every capable backend is at capacity and the wait queue is full; retry shortly."
      : `Every capable backend stayed at capacity for ${waitSeconds} s (queue.max_wait_seconds).`,
    type: "server_error",
    code: full ? "queue_full" : "queue_timeout",
    headers: { "retry-after": String(full ? 1 : Math.max(1, Math.ceil(waitSeconds / 2))) },
  })
}

export function proxied(deps: AppDeps, endpoint: ProxiedEndpoint) {
  return async (c: Context<Env>): Promise<Response> => {
    const started = performance.now()
    const requestId = c.get("requestId")
    const config = deps.config()
    const text = await readBodyText(c.req.raw, config.server.max_body_bytes, config.server.request_timeout_seconds * 1000)
    const body = parseJsonObject(text)
    const { model, stream } = endpoint.read(body)
    const deadline = started + config.server.request_timeout_seconds * 1000

    // Bun's idle timer would cut a long queue wait or a slow first token.
    deps.noIdleTimeout(c.req.raw)
    const plan = await planWithQueue(deps, c, model, endpoint.requirements(body), deadline)

    const reasonOf = (failures: number) => (failures > 0 ? "failover" : plan.reason)
    const result = await forward(
      {
        requestId,
        path: endpoint.path,
        body: text,
        model,
        stream,
        clientHeaders: c.req.raw.headers,
        clientSignal: c.req.raw.signal,
        attempts: plan.attempts,
        firstByteTimeoutMs: config.server.first_byte_timeout_seconds * 1000,
        coldFirstByteTimeoutMs: config.server.cold_first_byte_timeout_seconds * 1000,
        deadline,
        heartbeatMs: config.server.sse_heartbeat_seconds * 1000,
        observer: deps.observer,
      },
      (outcome) =>
        recordOutcome(
          deps,
          { requestId, model, stream, started, routeReason: reasonOf(outcome.failures.length) },
          outcome
        )
    )

    const res = result.response
    const attempt = result.attempt
    if (attempt) {
      const b = attempt.backend
      res.headers.set("x-nexus-backend", b.name)
      res.headers.set("x-nexus-backend-type", isCloud(b.type, b.url) ? "cloud" : "local")
      res.headers.set("x-nexus-route-reason", reasonOf(result.failures.length))
      res.headers.set("x-nexus-model", attempt.model)
      if (attempt.fallbackFrom) res.headers.set("x-nexus-fallback-model", attempt.model)
    }
    res.headers.set("x-request-id", requestId)
    return res
  }
}
