/**
 * Pins: models an operator keeps loaded on a backend, always or in weekly windows
 * (`days`, `from`..`to` in local time; a window whose end is before its start runs past
 * midnight into the next day, and one whose end equals its start lasts 24 hours). Pure: the caller passes the time.
 * @module
 */
import { WEEKDAYS, type PinConfig } from "../config/types.ts"

/** "HH:MM" as minutes after midnight. */
function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(":")
  return Number(h) * 60 + Number(m)
}

/** The pin's daily window, minutes after midnight (the whole day when it names no times). */
function dailyWindow(pin: PinConfig): { from: number; to: number } {
  return { from: minutes(pin.from ?? "00:00"), to: minutes(pin.to ?? "24:00") }
}

function dayListed(pin: PinConfig, day: number): boolean {
  return !pin.days || pin.days.includes(WEEKDAYS[day]!)
}

/** Whether `pin` holds at `now`. */
export function pinActive(pin: PinConfig, now: Date): boolean {
  const { from, to } = dailyWindow(pin)
  const t = now.getHours() * 60 + now.getMinutes()
  const day = now.getDay()
  if (from < to) return dayListed(pin, day) && t >= from && t < to
  // Past midnight (or 24 hours from `from`): the evening of a listed day, or the morning after one.
  return (dayListed(pin, day) && t >= from) || (dayListed(pin, (day + 6) % 7) && t < to)
}

/** Whether `model` is pinned on the backend named `backend` at `now`. */
export function isPinned(pins: readonly PinConfig[], model: string, backend: string, now: Date): boolean {
  return pins.some((p) => p.model === model && p.backend === backend && pinActive(p, now))
}

/**
 * How long the active window of `pin` has left at `now`, ms; -1 for a pin without a
 * window (until unpinned). A pinned load asks the server to keep the model that long, so
 * it goes back to normal expiry when the window closes.
 */
export function pinRemainingMs(pin: PinConfig, now: Date): number {
  if (!pin.days && !pin.from && !pin.to) return -1
  const { from, to } = dailyWindow(pin)
  const t = now.getHours() * 60 + now.getMinutes() + now.getSeconds() / 60
  const left = from < to ? to - t : t >= from ? 1440 - t + to : to - t
  return Math.max(0, Math.round(left * 60_000))
}
