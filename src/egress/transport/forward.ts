/**
 * Forwarding with failover: walk the planned attempts in order until one backend
 * answers. Connection errors, timeouts before the response starts, 5xx, 429 and 408
 * move on to the next one, unseen by the client. Once a success status is committed
 * there is no retry: the relay ends the stream cleanly instead. This loop only loops;
 * one attempt is `runAttempt`.
 * @module
 */
import type { Backend } from "../../core/backend.ts"
import { NexusError } from "../../core/errors.ts"
import type { Failure, RequestOutcome } from "../../core/outcome.ts"
import type { Attempt } from "../../routing/router.ts"
import { runAttempt } from "./attempt.ts"
import type { AttemptContext, Committed, Settled } from "./attempt-types.ts"

export interface ForwardRequest extends Omit<AttemptContext, "started" | "failures"> {
  attempts: Attempt[]
  /** The backend whose slot the router already took for the first attempt. */
  held: Backend
  /**
   * Asked again before each later attempt: why policy no longer allows it (a reload may
   * have moved a backend to the open zone while this request was failing over), if so.
   */
  refusal?(attempt: Attempt): string | undefined
}

export interface ForwardResult {
  /** The committed answer, or undefined when `error` is what the client gets. */
  answer?: Committed
  error?: NexusError
  attempt?: Attempt
  /** The output budget sent to the attempt's model, when the client's was lowered. */
  clamp?: number
  failures: Failure[]
  /**
   * The request's outcome, once the client has received the whole answer (or gone away):
   * by then every slot taken for it is released. A relayed body's comes when it ends.
   */
  outcome: Settled
}

/** Forward a request. */
export async function forward(req: ForwardRequest): Promise<ForwardResult> {
  const failures: Failure[] = []
  const ctx: AttemptContext = {
    request: req.request,
    clientSignal: req.clientSignal,
    timing: req.timing,
    feedback: req.feedback,
    fleet: req.fleet,
    keepOpen: req.keepOpen,
    translate: req.translate,
    wire: req.wire,
    started: performance.now(),
    failures,
  }
  let held: Backend | undefined = req.held
  let deadlineHit = false

  for (const attempt of req.attempts) {
    const mine = held === attempt.backend
    held = undefined
    if (!mine) {
      if (req.clientSignal.aborted) break
      if (performance.now() >= req.timing.deadline) {
        deadlineHit = true
        break
      }
      const refused = req.refusal?.(attempt)
      if (refused) {
        failures.push({ backend: attempt.backend.name, kind: "policy", reason: refused })
        continue
      }
      if (!req.feedback.acquire(attempt.backend)) {
        failures.push({ backend: attempt.backend.name, kind: "capacity", reason: "at capacity" })
        continue
      }
    }
    const result = await runAttempt(ctx, attempt)
    if (result.type === "answered") return { answer: result.answer, error: result.error, attempt, clamp: result.clamp, failures, outcome: result.outcome }
    if (result.type === "client_gone") break
    failures.push(result.failure)
  }
  // A slot taken for an attempt that never ran (empty plan) goes back untouched.
  if (held) req.feedback.settle({ backend: held, verdict: "neutral" })

  const error = exhausted(failures, req.clientSignal.aborted, deadlineHit)
  const outcome: RequestOutcome = { status: error.status, failures, error: error.message, clientAborted: req.clientSignal.aborted, midStreamError: false }
  return { error, failures, outcome }
}

/** Nothing was committed: every attempt failed, or the client left. */
function exhausted(failures: Failure[], clientAborted: boolean, deadlineHit: boolean): NexusError {
  if (clientAborted) return new NexusError({ kind: "client_closed", message: "client closed the request", code: "client_closed" })
  const tried = failures.filter((f) => f.kind !== "capacity")
  // Every backend asked us to slow down: say so, with the soonest time to come back.
  if (tried.length > 0 && tried.every((f) => f.kind === "rate_limited")) {
    return new NexusError({
      kind: "rate_limited",
      message: `all backends failed: ${describe(failures)}`,
      code: "rate_limited",
      context: { attempts: failures },
      retryAfterSeconds: Math.ceil(Math.min(...tried.map((f) => f.retryAfter ?? 1))),
    })
  }
  const last = failures[failures.length - 1]
  const timedOut = deadlineHit || last?.kind === "timeout"
  if (!failures.length) {
    return new NexusError({ kind: "timeout", message: "no backend attempt could be made before the deadline", code: "upstream_timeout", context: { attempts: failures } })
  }
  if (tried.length === 0) {
    return new NexusError({
      kind: "unavailable",
      message: `every capable backend is at capacity: ${describe(failures)}`,
      code: "capacity",
      context: { attempts: failures },
      retryAfterSeconds: 1,
    })
  }
  return new NexusError({
    kind: timedOut ? "timeout" : "upstream_failed",
    message: `all backends failed: ${describe(failures)}`,
    code: timedOut ? "upstream_timeout" : "upstream_unavailable",
    context: { attempts: failures },
  })
}

function describe(failures: Failure[]): string {
  return failures.map((f) => `${f.backend}: ${f.reason}`).join("; ")
}
