/**
 * What every module may log through. The implementation (consola, pretty or JSON lines)
 * lives in observability; modules below it only see this interface.
 * @module
 */

export const LOG_LEVELS = ["silent", "error", "warn", "info", "debug", "trace"] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Structured fields of a log line. */
export type Fields = Record<string, unknown>

/** The levels a line can be written at. */
export type LineLevel = "error" | "warn" | "info" | "debug"

export interface Logger {
  error(message: string, fields?: Fields): void
  warn(message: string, fields?: Fields): void
  info(message: string, fields?: Fields): void
  debug(message: string, fields?: Fields): void
  /** Whether a line at `level` would be written: check before building costly fields. */
  enabled(level: LineLevel): boolean
  setLevel(level: LogLevel): void
  /** Write the lines still gathered for a batched write, now. */
  flush(): void
}
