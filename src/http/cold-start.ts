/**
 * A streaming request whose model must load first: the client's stream starts at once
 * and carries SSE comments while the backend loads (a load takes long enough for proxies
 * and clients to give up on a silent connection), and with `[fleet] loading_status` a
 * notice in the reasoning channel ("loading qwen3-coder:30b on gpu-box (≈12 s)"). Then
 * the answer's bytes follow as they come. The status line is committed before the backend
 * has answered, so a request that then fails gets the dialect's error event and a clean
 * end of stream instead of an error status. Only for SSE dialects (a line of NDJSON has no
 * comments), and only when the fleet has a cold model at all: everyone else never comes here.
 * @module
 */
import { eventStreamHeaders } from "../core/frames.ts"
import { answerError, type ErrorDeps } from "./error-answer.ts"
import type { AppDeps } from "./deps.ts"
import type { ColdStart, RequestScope } from "./scope.ts"
import type { IngressEndpoint } from "../ingress/types.ts"
import { providerFor } from "../egress/providers/index.ts"
import type { Attempt } from "../routing/router.ts"

/** What a cold start uses of the gateway. */
type ColdDeps = ErrorDeps & Pick<AppDeps, "config" | "fleet">

type Proxy<D> = (deps: D, endpoint: IngressEndpoint, scope: RequestScope) => Promise<Response>

const encoder = new TextEncoder()

/** Run `proxy`, committing a stream early if it reports a cold start. */
export async function withColdStart<D extends ColdDeps>(deps: D, endpoint: IngressEndpoint, scope: RequestScope, proxy: Proxy<D>): Promise<Response> {
  let early: ((res: Response) => void) | undefined
  const committed = new Promise<Response>((resolve) => (early = resolve))
  const answer = proxy(deps, endpoint, scope).catch((err) => answerError(deps, scope, err))
  scope.onCold = (cold) => early!(coldStream(deps, endpoint, scope, cold, answer))
  return Promise.race([answer, committed])
}

/** The loading notice ("loading qwen3-coder:30b on gpu-box (≈12 s)"). */
function noticeText(cold: ColdStart): string {
  const eta = cold.loadMs === undefined ? "" : ` (≈${Math.max(1, Math.round(cold.loadMs / 1000))} s)`
  return `loading ${cold.model} on ${cold.backend}${eta}\n`
}

/** An answer that is not a stream (an error in the client's envelope) as the dialect's error event. */
async function asErrorEvent(endpoint: IngressEndpoint, res: Response): Promise<string> {
  const framing = endpoint.framing
  let message = `HTTP ${res.status}`
  let code = "upstream_error"
  try {
    const body = (await res.json()) as { error?: { message?: string; code?: string } | string }
    if (typeof body.error === "string") message = body.error
    else if (body.error?.message) {
      message = body.error.message
      code = body.error.code ?? code
    }
  } catch {
    // Not JSON: the status says it.
  }
  return framing.error(message, code) + (framing.done ?? "")
}

function coldStream(deps: ColdDeps, endpoint: IngressEndpoint, scope: RequestScope, cold: ColdStart, answer: Promise<Response>): Response {
  cold.keepOpen()
  const heartbeatMs = deps.config().server.sse_heartbeat_seconds * 1000
  let timer: ReturnType<typeof setInterval> | undefined
  let reader: { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(reason?: unknown): Promise<void> } | undefined
  let cancelled = false
  let ready!: Promise<void>
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`: loading ${cold.model}\n\n`))
      const note = endpoint.framing.note
      if (deps.config().fleet.loading_status && note) controller.enqueue(encoder.encode(note(noticeText(cold), cold.model, scope.requestId)))
      timer = setInterval(() => controller.enqueue(encoder.encode(": keep-alive\n\n")), heartbeatMs)
      ready = answer.then(async (res) => {
        clearInterval(timer)
        if (cancelled) return void res.body?.cancel().catch(() => {})
        if (res.ok && res.body) reader = res.body.getReader()
        else {
          controller.enqueue(encoder.encode(await asErrorEvent(endpoint, res)))
          controller.close()
        }
      })
    },
    // Pulled, not pumped: a slow client slows the backend instead of filling memory.
    async pull(controller) {
      await ready
      if (!reader) return
      const { done, value } = await reader.read()
      if (done) controller.close()
      else if (value) controller.enqueue(value)
    },
    cancel(reason) {
      cancelled = true
      clearInterval(timer)
      // The answer's body holds its backend slot until it ends.
      return reader?.cancel(reason)
    },
  })
  return new Response(stream, {
    status: 200,
    headers: { ...eventStreamHeaders(), "x-request-id": scope.requestId, "x-nexus-loading": cold.backend },
  })
}

/** Tell the waiting client side that the first attempt must load its model, if it must. */
export function reportCold(deps: Pick<AppDeps, "fleet">, scope: RequestScope, attempt: Attempt, keepOpen: () => void): void {
  const b = attempt.backend
  if (b.models.get(attempt.model)?.loaded !== false || !providerFor(b.type).lifecycle) return
  scope.onCold!({ backend: b.name, model: attempt.model, loadMs: deps.fleet.loadMs(b.id, attempt.model), keepOpen })
}
