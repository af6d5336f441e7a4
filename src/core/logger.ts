/**
 * What every module may log through. The implementation (consola, pretty or JSON lines)
 * lives in observability; modules below it only see this interface.
 * @module
 */

export const LOG_LEVELS = ["silent", "error", "warn", "info", "debug", "trace"] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Structured fields of a log line. */
export type Fields = Record<string, unknown>

export interface Logger {
  error(message: string, fields?: Fields): void
  warn(message: string, fields?: Fields): void
  info(message: string, fields?: Fields): void
  debug(message: string, fields?: Fields): void
  setLevel(level: LogLevel): void
}
