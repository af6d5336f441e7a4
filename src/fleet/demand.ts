/**
 * Requests per model by hour of the week (local time, like pins), decayed by half each
 * week so the usual pattern of the last few weeks counts most. Just before an hour comes
 * round again, its count reads as about that hour's requests per week. The time is
 * always passed in (the gateway's clock), never read here.
 * @module
 */
import { DURATION_UNITS } from "../core/duration.ts"
import type { DemandRow } from "../persist/demand.ts"

const WEEK_HOURS = 168
export const HOUR_MS = DURATION_UNITS.h
const WEEK_MS = WEEK_HOURS * HOUR_MS
/** What is left of a count after a week. */
const WEEKLY_DECAY = 0.5
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

/** 0 = Sunday 00:00-01:00 … 167 = Saturday 23:00-24:00, local time. */
export function hourOfWeek(t: number): number {
  const d = new Date(t)
  return d.getDay() * 24 + d.getHours()
}

/** Start of the hour holding `t`, epoch ms (local hours: a half-hour time zone works too). */
export function hourStart(t: number): number {
  const d = new Date(t)
  d.setMinutes(0, 0, 0)
  return d.getTime()
}

/** "Mon 09:00–10:00" */
export function hourLabel(hour: number): string {
  const h = hour % 24
  const pad = (n: number) => String(n).padStart(2, "0")
  return `${DAYS[Math.floor(hour / 24)]} ${pad(h)}:00–${pad((h + 1) % 24)}:00`
}

interface Cell {
  count: number
  at: number
  /** Changed since last persisted. */
  dirty: boolean
}

export type Demand = ReturnType<typeof createDemand>

export function createDemand() {
  const models = new Map<string, (Cell | undefined)[]>()
  // The hour bucket of the last record, reused until the hour is over.
  let from = 0
  let until = 0
  let current = 0

  const decayed = (c: Cell, t: number) => c.count * WEEKLY_DECAY ** (Math.max(0, t - c.at) / WEEK_MS)

  return {
    /** One request for `model` finished at `t`. */
    record(model: string, t: number): void {
      if (t < from || t >= until) {
        from = hourStart(t)
        until = from + HOUR_MS
        current = hourOfWeek(t)
      }
      let cells = models.get(model)
      if (!cells) models.set(model, (cells = new Array(WEEK_HOURS)))
      // Updated in place: a request's record allocates nothing once its hour has a cell.
      const c = cells[current]
      if (!c) cells[current] = { count: 1, at: t, dirty: true }
      else {
        c.count = decayed(c, t) + 1
        c.at = t
        c.dirty = true
      }
    },
    /** Requests per week `model` usually gets in `hour` (as of `t`). */
    expected(model: string, hour: number, t: number): number {
      const c = models.get(model)?.[hour]
      return c ? decayed(c, t) : 0
    },
    /** Models with any demand recorded. */
    models(): string[] {
      return [...models.keys()]
    },
    restore(rows: readonly DemandRow[]): void {
      for (const r of rows) {
        if (!(r.hour >= 0 && r.hour < WEEK_HOURS) || !Number.isFinite(r.count)) continue
        let cells = models.get(r.model)
        if (!cells) models.set(r.model, (cells = new Array(WEEK_HOURS)))
        cells[r.hour] = { count: r.count, at: r.at, dirty: false }
      }
    },
    /** Rows changed since the last call (to persist). */
    takeChanged(): DemandRow[] {
      const rows: DemandRow[] = []
      for (const [model, cells] of models) {
        cells.forEach((c, hour) => {
          if (!c?.dirty) return
          c.dirty = false
          rows.push({ model, hour, count: c.count, at: c.at })
        })
      }
      return rows
    },
  }
}
