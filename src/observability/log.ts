/**
 * Logging through consola, as human lines (`pretty`) or one JSON object per line
 * (`json`, for journald and log shippers). Fields are structured; message content
 * and credentials never reach them.
 * @module
 */
import { createConsola, type ConsolaInstance, type LogObject } from "consola"
import type { LogFormat, LogLevel } from "../config/types.ts"

export type Fields = Record<string, unknown>

export interface Logger {
  error(message: string, fields?: Fields): void
  warn(message: string, fields?: Fields): void
  info(message: string, fields?: Fields): void
  debug(message: string, fields?: Fields): void
  setLevel(level: LogLevel): void
}

const LEVELS: Record<LogLevel, number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 }

function jsonReporter(stream: NodeJS.WriteStream) {
  return {
    log(obj: LogObject) {
      const [message, fields] = obj.args as [unknown, Fields | undefined]
      const line = {
        time: obj.date.toISOString(),
        level: obj.type === "fatal" ? "error" : obj.type,
        msg: typeof message === "string" ? message : String(message),
        ...(fields && typeof fields === "object" ? fields : {}),
      }
      stream.write(`${JSON.stringify(line)}\n`)
    },
  }
}

/** `key=value` pairs for the human format; values with spaces are quoted. */
export function formatFields(fields: Fields | undefined): string {
  if (!fields) return ""
  let out = ""
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || v === null || v === "") continue
    const s = typeof v === "string" ? v : JSON.stringify(v)
    out += ` ${k}=${/[\s"]/.test(s) ? JSON.stringify(s) : s}`
  }
  return out
}

export function createLogger(opts: { level: LogLevel; format: LogFormat; stream?: NodeJS.WriteStream }): Logger {
  const stream = opts.stream ?? process.stderr
  const consola: ConsolaInstance = createConsola({
    level: LEVELS[opts.level],
    throttle: 0,
    ...(opts.format === "json" ? { reporters: [jsonReporter(stream)] } : { stderr: stream, stdout: stream }),
  })
  const emit = (type: "error" | "warn" | "info" | "debug") => (message: string, fields?: Fields) => {
    if (opts.format === "json") consola[type](message, fields)
    else consola[type](message + formatFields(fields))
  }
  return {
    error: emit("error"),
    warn: emit("warn"),
    info: emit("info"),
    debug: emit("debug"),
    setLevel(level) {
      consola.level = LEVELS[level]
    },
  }
}
