/**
 * Per-backend circuit breakers and 429 cooldowns. Consecutive backend failures open
 * the circuit; after the cooldown one trial request (half-open) decides whether it
 * closes again. Client disconnects and client 4xx are never reported here.
 * @module
 */

export interface BreakerConfig {
  /** Consecutive failures that open the circuit. */
  failure_threshold: number
  /** How long an open circuit refuses traffic before a trial. */
  cooldown_seconds: number
}

export type BreakerState = "closed" | "open" | "half_open"

interface Entry {
  state: BreakerState
  failures: number
  /** performance.now() time until which traffic is refused (open circuit or 429 cooldown). */
  until: number
  /** True while the half-open trial request is in flight. */
  trial: boolean
  /** Why it is refusing, for the 503 context. */
  why?: string
}

export type Breakers = ReturnType<typeof createBreakers>

export function createBreakers(config: () => BreakerConfig, now: () => number = () => performance.now()) {
  const entries = new Map<string, Entry>()

  function entry(id: string): Entry {
    let e = entries.get(id)
    if (!e) {
      e = { state: "closed", failures: 0, until: 0, trial: false }
      entries.set(id, e)
    }
    return e
  }

  return {
    /** Why `id` must not take a request now, or undefined when it may. Pure read. */
    refusal(id: string): string | undefined {
      const e = entries.get(id)
      if (!e) return undefined
      const t = now()
      if (t < e.until) {
        const secs = Math.ceil((e.until - t) / 1000)
        return e.state === "open" ? `circuit open (${e.why}), retry in ${secs} s` : `${e.why}, retry in ${secs} s`
      }
      if (e.state === "open" || e.state === "half_open") {
        if (e.trial) return "circuit half-open, trial request in flight"
      }
      return undefined
    },

    /** Called when an attempt starts: an expired open circuit lets this one through as the trial. */
    begin(id: string): void {
      const e = entries.get(id)
      if (!e || e.state === "closed") return
      if (now() >= e.until && !e.trial) {
        e.state = "half_open"
        e.trial = true
      }
    },

    success(id: string): void {
      const e = entries.get(id)
      if (!e) return
      e.state = "closed"
      e.failures = 0
      e.trial = false
      e.why = undefined
      e.until = 0
    },

    failure(id: string, reason: string): void {
      const e = entry(id)
      const cfg = config()
      e.failures++
      if (e.state === "half_open" || e.failures >= cfg.failure_threshold) {
        e.state = "open"
        e.until = now() + cfg.cooldown_seconds * 1000
        e.why = `${e.failures} consecutive failures, last: ${reason}`
      }
      e.trial = false
    },

    /** The attempt ended without telling us anything about the backend (client left). */
    neutral(id: string): void {
      const e = entries.get(id)
      if (e) e.trial = false
    },

    /** A 429: keep traffic away for `seconds` without counting it as a failure. */
    cooldown(id: string, seconds: number): void {
      const e = entry(id)
      e.until = Math.max(e.until, now() + seconds * 1000)
      if (e.state === "closed") e.why = "rate limited (429)"
    },

    state(id: string): BreakerState {
      return entries.get(id)?.state ?? "closed"
    },

    forget(id: string): void {
      entries.delete(id)
    },
  }
}
