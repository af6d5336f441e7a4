/**
 * What aborts an attempt's upstream request before its answer starts: the first byte
 * being overdue, or the client leaving. Listening to the client's signal costs Bun more
 * than the rest of an attempt's bookkeeping, and nearly every local answer starts within
 * milliseconds, so an attempt begins to listen only once it has waited `LISTEN_AFTER_MS`
 * (a client that left before then is noticed at that moment); that is also when it asks
 * for the connection to be kept open (`waiting`). Once the answer has started, the
 * relay's cancel carries a client's leaving upstream.
 * @module
 */
import { schedule, withdraw, type Deadline } from "./deadlines.ts"

const LISTEN_AFTER_MS = 50

export class UpstreamAbort implements Deadline {
  readonly controller = new AbortController()
  /** The first-byte deadline fired. */
  timedOut = false
  /** When the next check is due: the attempt is its own deadline (one per request, no closure). */
  at: number
  slot = -1
  /** Set while listening to the client's signal (made then: most attempts never need it). */
  private onClientAbort: (() => void) | undefined

  constructor(
    private readonly client: AbortSignal,
    /** performance.now() by which the answer must have started. */
    private readonly firstByteAt: number,
    /** Called once, when the attempt has waited long enough to be a long one. */
    private readonly waiting?: () => void
  ) {
    this.at = Math.min(performance.now() + LISTEN_AFTER_MS, firstByteAt)
    schedule(this)
  }

  /** Whether the client's leaving is listened to (after the first wait). */
  get listening(): boolean {
    return this.onClientAbort !== undefined
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  /** The answer started: the first-byte deadline no longer applies. */
  started(): void {
    withdraw(this)
  }

  /** The attempt is over: nothing more to watch. */
  release(): void {
    this.started()
    if (this.onClientAbort) {
      this.client.removeEventListener("abort", this.onClientAbort)
      this.onClientAbort = undefined
    }
  }

  /** The check that was due (called by the deadline list). */
  expire(): void {
    if (this.client.aborted) return this.controller.abort(this.client.reason)
    if (!this.onClientAbort) {
      this.onClientAbort = () => this.controller.abort(this.client.reason)
      this.client.addEventListener("abort", this.onClientAbort, { once: true })
      this.waiting?.()
    }
    if (performance.now() < this.firstByteAt) {
      this.at = this.firstByteAt
      schedule(this)
      return
    }
    this.timedOut = true
    this.controller.abort(new DOMException("first byte timeout", "TimeoutError"))
  }
}
