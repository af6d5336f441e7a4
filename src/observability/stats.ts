/**
 * Running totals for `GET /v1/stats`: small, in memory, per model and overall.
 * Per-backend figures live on the backends themselves.
 * @module
 */

export interface ModelStats {
  requests: number
  errors: number
  totalDurationMs: number
  promptTokens: number
  completionTokens: number
}

export type Stats = ReturnType<typeof createStats>

export function createStats() {
  const startedAt = Date.now()
  const totals = { requests: 0, success: 0, errors: 0, streams: 0 }
  const models = new Map<string, ModelStats>()

  return {
    startedAt,
    totals,
    models,
    record(model: string, ok: boolean, durationMs: number, stream: boolean, prompt = 0, completion = 0): void {
      totals.requests++
      if (ok) totals.success++
      else totals.errors++
      if (stream) totals.streams++
      let m = models.get(model)
      if (!m) {
        // Bound the map: junk model names from clients must not grow memory forever.
        if (models.size >= 1000) return
        m = { requests: 0, errors: 0, totalDurationMs: 0, promptTokens: 0, completionTokens: 0 }
        models.set(model, m)
      }
      m.requests++
      if (!ok) m.errors++
      m.totalDurationMs += durationMs
      m.promptTokens += prompt
      m.completionTokens += completion
    },
  }
}
