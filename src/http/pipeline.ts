/**
 * The shared shape of every proxied endpoint: decode the request, run the policy stages,
 * plan and reserve a slot (waiting in the queue when capacity is the only obstacle),
 * forward with failover, and report the routing facts in `X-Nexus-*` headers.
 * @module
 */
import { isCloud, type Backend } from "../core/backend.ts"
import { NexusError } from "../core/errors.ts"
import type { BackendFilter } from "../core/policy.ts"
import type { CanonicalRequest } from "../core/request.ts"
import { forward, type ForwardResult } from "../egress/transport/forward.ts"
import type { RequestOutcome } from "../core/outcome.ts"
import { headerValue, type HeaderMap } from "../egress/transport/headers.ts"
import type { EncodeContext, IngressEndpoint } from "../ingress/types.ts"
import type { SpendHold } from "../observability/cost.ts"
import { toRecord } from "../observability/record.ts"
import { applyPolicy } from "../policy/index.ts"
import { QueueError, type QueuePriority } from "../routing/queue.ts"
import type { Attempt, Exclusion, Plan } from "../routing/router.ts"
import { sessionKey } from "../routing/session-key.ts"
import { admit, release } from "./auth.ts"
import { parseJsonObject, readBodyText } from "./body.ts"
import type { AppDeps } from "./deps.ts"
import { answerError, describeError } from "./error-answer.ts"
import type { RequestScope } from "./scope.ts"
import { exactPromptTokens, refusedForWindow } from "./exact-fit.ts"
import { planError, withPolicySkips } from "./plan-error.ts"
import { reportCold, withColdStart } from "./cold-start.ts"

function priorityOf(headers: Headers): QueuePriority {
  return headers.get("x-nexus-priority")?.trim().toLowerCase() === "high" ? "high" : "normal"
}

type Refusal = Exclude<Plan, { ok: true }>
type Reserved = { ok: true; plan: Extract<Plan, { ok: true }>; attempts: Attempt[]; held: Backend; hold: SpendHold | undefined }

/**
 * Plan and take a slot on the first candidate in one synchronous step, so that the
 * router's choice and the slot it counted on cannot be told apart by another request;
 * so is the budget it counted on (a cloud attempt's reservation, `hold`).
 */
function reserve(deps: PipelineDeps, req: CanonicalRequest, policy: readonly BackendFilter[], session?: string): Reserved | Refusal {
  const plan = deps.router.plan(req.model, req.requirements, policy, session === undefined ? undefined : deps.sessions.get(session))
  if (!plan.ok) return plan
  for (let i = 0; i < plan.attempts.length; i++) {
    const attempt = plan.attempts[i]!
    if (deps.feedback.acquire(attempt.backend)) {
      const hold = deps.spend.reserve(req, attempt.backend, attempt.model)
      deps.fleet.placed(attempt.backend, attempt.model)
      return { ok: true, plan, attempts: i === 0 ? plan.attempts : plan.attempts.slice(i), held: attempt.backend, hold }
    }
  }
  return { ok: false, kind: "unavailable", requested: plan.requested, resolved: plan.resolved, excluded: plan.excluded, waitable: true }
}

/** While only capacity stands in the way, wait in the queue for a slot (or fail with why not). */
async function reserveOrWait(
  deps: PipelineDeps,
  req: CanonicalRequest,
  policy: readonly BackendFilter[],
  signal: AbortSignal,
  deadline: number,
  first: Refusal,
  keepOpen: () => void,
  session?: string
): Promise<Reserved> {
  let got: Reserved | Refusal = first
  keepOpen()
  if (got.kind === "not_found") {
    // Right after start the first probes may still be learning the model lists.
    await deps.firstProbe
    got = reserve(deps, req, policy, session)
  }
  const cfg = deps.config().queue
  if (!got.ok && got.kind === "unavailable" && got.waitable && cfg.max_size > 0) {
    const queueDeadline = Math.min(deadline, performance.now() + cfg.max_wait_seconds * 1000)
    try {
      got = await deps.queue.wait(got.resolved, req.priority, signal, queueDeadline, () => {
        const r = reserve(deps, req, policy, session)
        return !r.ok && r.kind === "unavailable" && r.waitable ? undefined : r
      })
    } catch (err) {
      if (!(err instanceof QueueError)) throw err
      throw queueError(err, cfg.max_wait_seconds)
    }
  }
  if (!got.ok && refusedForWindow(got)) {
    // Refused for its size on an estimate: a backend with the model's tokenizer decides.
    const exact = await exactPromptTokens(deps, req, got)
    if (exact !== undefined) {
      req.requirements.promptTokens = exact
      req.requirements.promptCounted = true
      got = reserve(deps, req, policy, session)
    }
  }
  if (!got.ok) throw planError(got)
  return got
}

/** Policy, asked again before a failover attempt, about the backend as it is now. */
function stillAllowed(deps: PipelineDeps, attempt: Attempt, policy: readonly BackendFilter[]): string | undefined {
  const now = deps.registry.get(attempt.backend.id)
  if (!now) return "removed by a reload"
  for (const exclude of policy) {
    const refusal = exclude(now, attempt.model)
    if (refusal) return refusal.reason
  }
  return undefined
}

function queueError(err: QueueError, waitSeconds: number): NexusError {
  if (err.reason === "aborted") {
    return new NexusError({ kind: "client_closed", message: "client closed the request while queued", code: "client_closed" })
  }
  const full = err.reason === "full"
  return new NexusError({
    kind: "unavailable",
    message: full
      ? "Every capable backend is at capacity and the wait queue is full; retry shortly."
      : `Every capable backend stayed at capacity for ${waitSeconds} s (queue.max_wait_seconds).`,
    code: full ? "queue_full" : "queue_timeout",
    retryAfterSeconds: full ? 1 : Math.max(1, Math.ceil(waitSeconds / 2)),
  })
}

/** What a proxied endpoint uses of the gateway (decoding consults `responses`). */
export type PipelineDeps = Pick<
  AppDeps,
  "config" | "feedback" | "firstProbe" | "fleet" | "keys" | "log" | "metrics" | "noIdleTimeout" | "queue" | "registry" | "requests" | "responses" | "router" | "sessions" | "shutdown" | "spend" | "stages"
>

/** A proxied endpoint's handler; every error is answered in the endpoint's dialect. */
export function pipeline(deps: PipelineDeps, endpoint: IngressEndpoint): (scope: RequestScope) => Promise<Response> {
  return async (scope) => {
    // Errors thrown from here on are rendered in the client's dialect.
    scope.dialect = endpoint
    try {
      // The key first, whatever path the request takes next.
      if (deps.config().auth.required) {
        const shared = admit(deps, scope)
        if (shared) await shared
      }
      // Streams that may have to wait for a model to load (only while some model is cold).
      if (!endpoint.framing.lines && deps.fleet.anyCold()) return await withColdStart(deps, endpoint, scope, proxy)
      return await proxy(deps, endpoint, scope)
    } catch (err) {
      return answerError(deps, scope, err)
    }
  }
}

/** The client's body, decoded by its dialect into the canonical request. */
function canonicalRequest(deps: PipelineDeps, endpoint: IngressEndpoint, scope: RequestScope, raw: string): { request: CanonicalRequest; body: Record<string, unknown> } {
  const body = parseJsonObject(raw)
  const { model, stream, requirements, canonical, operation, dropped, reasoning, native, carry, continues } = endpoint.decode(body, deps)
  if (dropped && deps.log.enabled("debug")) deps.log.debug(`kept only for ${endpoint.dialect} backends, dropped for others: ${dropped.join(", ")}`, { request_id: scope.requestId, dropped })
  scope.asked = { model, stream }
  const request: CanonicalRequest = {
    dialect: endpoint.dialect,
    operation: operation ?? endpoint.operation,
    path: scope.path,
    model,
    resolved: model,
    stream,
    raw,
    body: canonical ?? body,
    canonical: canonical ? JSON.stringify(canonical) : raw,
    requirements,
    reasoning,
    native,
    continues,
    carry,
    priority: priorityOf(scope.req.headers),
    headers: scope.req.headers,
    requestId: scope.requestId,
    key: scope.key,
  }
  return { request, body }
}

async function proxy(deps: PipelineDeps, endpoint: IngressEndpoint, scope: RequestScope): Promise<Response> {
  const { started, requestId, req: clientReq } = scope
  const config = deps.config()
  const raw = await readBodyText(clientReq, config.server.max_body_bytes, config.server.request_timeout_seconds * 1000)
  const { request, body } = canonicalRequest(deps, endpoint, scope, raw)
  const { model, stream, requirements } = request
  request.resolved = deps.router.resolve(model)
  const policy = applyPolicy(request, deps.stages)
  const deadline = started + config.server.request_timeout_seconds * 1000
  // Bun's idle timer (30 s) would cut a long queue wait, a slow first token or a quiet
  // stream. Switching it off costs as much as the rest of the routing, so it is done only
  // for requests that wait (queued, or no answer within 50 ms) and for relayed streams.
  const keepOpen = () => deps.noIdleTimeout(clientReq)
  // Sticky sessions: a conversation goes back to the backend whose prompt cache holds it.
  const session = config.routing.sessions.enabled && request.operation === "chat" ? sessionKey(request.headers, body, request.body) : undefined
  const first = reserve(deps, request, policy, session)
  const reserved = first.ok ? first : await reserveOrWait(deps, request, policy, clientReq.signal, deadline, first, keepOpen, session)
  if (scope.onCold && stream) reportCold(deps, scope, reserved.attempts[0]!, keepOpen)

  // From here on forward() reports the outcome, whatever happens.
  scope.recorded = true
  let hold = reserved.hold
  const result = await forward({
    request,
    clientSignal: clientReq.signal,
    attempts: reserved.attempts,
    held: reserved.held,
    refusal(attempt) {
      // The failed attempt's reservation goes before policy looks; the next one's is taken if allowed.
      hold?.release()
      const refused = stillAllowed(deps, attempt, policy)
      hold = refused ? undefined : deps.spend.reserve(request, attempt.backend, attempt.model)
      return refused
    },
    keepOpen,
    feedback: deps.feedback,
    fleet: deps.fleet,
    wire: endpoint,
    translate: stream && endpoint.translate ? (m) => endpoint.translate!(encodeContext(request, m)) : undefined,
    timing: {
      firstByteTimeoutMs: config.server.first_byte_timeout_seconds * 1000,
      coldFirstByteTimeoutMs: config.server.cold_first_byte_timeout_seconds * 1000,
      deadline,
      heartbeatMs: config.server.sse_heartbeat_seconds * 1000,
      clientStallMs: config.server.client_stall_seconds * 1000,
      maxFrameBytes: config.server.max_frame_bytes,
      shutdown: deps.shutdown,
    },
  })

  const reason = result.failures.length > 0 ? "failover" : reserved.plan.reason
  const settle = (outcome: RequestOutcome): Cost | undefined => {
    const ctx = { requestId, dialect: endpoint.dialect, operation: endpoint.operation, model, stream, started, routeReason: reason }
    const record = toRecord(ctx, outcome)
    record.key = scope.key?.name
    const cost = deps.spend.cost(outcome, requirements.promptTokens ?? requirements.estimatedTokens)
    record.costUsd = cost?.usd
    record.costEstimated = cost?.estimated || undefined
    // The reservation gives way to the real cost in one step (the record writes it).
    hold?.release()
    release(deps, scope)
    deps.requests.emit(record)
    return cost
  }
  // A relayed body's outcome comes when it ends; its cost is then in its record, not a header.
  const cost = result.outcome instanceof Promise ? void settleLater(deps, result.outcome, settle) : settle(result.outcome)
  if (session !== undefined && result.answer && result.attempt) deps.sessions.set(session, result.attempt.backend.id)
  try {
    return respond(deps, endpoint, request, result, reason, cost, reserved.plan.excluded)
  } catch (err) {
    // The answer holds its backend slot until its body ends: end it, or the slot leaks.
    const body = result.answer?.body
    if (body instanceof ReadableStream && !body.locked) body.cancel().catch(() => {})
    throw err
  }
}

type Cost = { usd: number; estimated: boolean }

function settleLater(deps: PipelineDeps, outcome: Promise<RequestOutcome>, settle: (outcome: RequestOutcome) => unknown): void {
  outcome.then(settle).catch((err) => deps.log.error("recording a request failed (a bug in Nexus)", { error: describeError(err) }))
}

/**
 * The client's one Response, made once its dialect's headers are known: the answer as
 * the backend gave it (same dialect), encoded into the client's, or the error in its shape.
 */
function respond(deps: PipelineDeps, endpoint: IngressEndpoint, request: CanonicalRequest, result: ForwardResult, reason: string, cost: Cost | undefined, excluded: readonly Exclusion[]): Response {
  const { answer, attempt } = result
  const passThrough = answer !== undefined && (answer.dialect === endpoint.dialect || !endpoint.encode)
  const headers: HeaderMap = passThrough ? answer.headers : {}
  if (attempt) routingHeaders(headers, attempt, reason)
  headers["x-request-id"] = request.requestId
  answerHeaders(headers, deps, request, attempt, result.clamp, cost)
  if (!answer) return endpoint.error(withPolicySkips(result.error!, excluded), headers)
  if (passThrough) return new Response(answer.body, { status: answer.status, headers })
  const canonical = answer.document && !request.stream ? { document: answer.document } : new Response(answer.body, { status: answer.status, headers: answer.headers })
  const ctx = encodeContext(request, attempt?.model ?? request.model)
  ctx.headers = headers
  return endpoint.encode!(canonical, ctx)
}

/** What the client's dialect needs to render an answer from `model`. */
function encodeContext(request: CanonicalRequest, model: string): EncodeContext {
  return { stream: request.stream, model, requestId: request.requestId, promptTokens: request.requirements.promptTokens, showReasoning: request.reasoning?.show, carry: request.carry, restricted: request.restricted }
}

/** The routing facts of an answer, in `X-Nexus-*` headers (the only place they travel). */
function routingHeaders(headers: HeaderMap, attempt: Attempt, reason: string): void {
  const b = attempt.backend
  headers["x-nexus-backend"] = headerValue(b.name)
  headers["x-nexus-backend-type"] = isCloud(b) ? "cloud" : "local"
  headers["x-nexus-route-reason"] = reason
  headers["x-nexus-model"] = headerValue(attempt.model)
  if (attempt.fallbackFrom) headers["x-nexus-fallback-model"] = headers["x-nexus-model"]
}

/**
 * Headers known only once the answer is in: a tier downgrade the client opted into, the
 * cost of an answer taken whole (a stream's is known only at its end, in its record), and
 * the budget state while a budget is set. Usually none.
 */
function answerHeaders(out: HeaderMap, deps: PipelineDeps, request: CanonicalRequest, attempt: Attempt | undefined, clamp: number | undefined, cost: Cost | undefined): void {
  // Only a request that opted into flexible tiers has its needed tier kept, and can have been downgraded.
  const needed = request.tier
  if (attempt && needed !== undefined && attempt.backend.tier < needed) out["x-nexus-tier-downgraded"] = `${needed}->${attempt.backend.tier}`
  // The output budget was lowered to what the chosen model's window has left.
  if (clamp !== undefined) out["x-nexus-max-tokens-clamped"] = `${request.requirements.maxTokens}->${clamp}`
  // A local answer costs 0: its header needs no formatting (0.5% of the CPU per request).
  if (cost) out["x-nexus-cost"] = cost.usd === 0 ? "0.000000" : cost.usd.toFixed(6)
  if (cost?.estimated) out["x-nexus-cost-estimated"] = "true"
  const budget = deps.spend.headers()
  for (const k in budget) out[k] = budget[k]!
  const key = request.key
  if (key && (key.rpm !== undefined || key.tpm !== undefined)) Object.assign(out, deps.keys.limits.headers(key))
}
