/**
 * Logging, as human lines (`pretty`) or one JSON object per line (`json`, for journald
 * and log shippers). Fields are structured; message content and credentials never reach
 * them.
 *
 * Every request logs a line at info, so this is on the hot path: a level below the
 * threshold returns at once, `enabled()` lets a caller skip building its fields, and an
 * enabled line is formatted in one pass and written once per event-loop turn with the
 * others. (consola, used here before, built a log object, a Date and a closure per line
 * and checked for repeats: more than the line itself.)
 * @module
 */
import type { LogFormat, LogLevel } from "../config/types.ts"

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
}

const LEVELS: Record<LogLevel, number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 }

/** `key=value` pairs for the human format; values with spaces or quotes are quoted. */
export function formatFields(fields: Fields | undefined): string {
  if (!fields) return ""
  let out = ""
  for (const k in fields) {
    const v = fields[k]
    if (v === undefined || v === null || v === "") continue
    if (typeof v === "number" || typeof v === "boolean") {
      out += ` ${k}=${v}`
      continue
    }
    const s = typeof v === "string" ? v : JSON.stringify(v)
    out += ` ${k}=${/[\s"=]/.test(s) ? JSON.stringify(s) : s}`
  }
  return out
}

/** One JSON object: time, level, msg, then the fields that are set. */
export function formatJsonLine(time: string, level: LineLevel, message: string, fields: Fields | undefined): string {
  let out = `{"time":"${time}","level":"${level}","msg":${JSON.stringify(message)}`
  if (fields) {
    for (const k in fields) {
      const v = fields[k]
      if (v === undefined) continue
      const s = JSON.stringify(v)
      // Functions and symbols have no JSON form: left out, as JSON.stringify of the object did.
      if (s !== undefined) out += `,${JSON.stringify(k)}:${s}`
    }
  }
  return `${out}}\n`
}

const LABEL: Record<LineLevel, string> = { error: "ERROR", warn: "WARN ", info: "INFO ", debug: "DEBUG" }
const COLOR: Record<LineLevel, string> = { error: "31", warn: "33", info: "36", debug: "90" }

/** ISO time of now, formatted once per millisecond however many lines share it. */
function clock(): () => string {
  let ms = -1
  let iso = ""
  return () => {
    const now = Date.now()
    if (now !== ms) {
      ms = now
      iso = new Date(now).toISOString()
    }
    return iso
  }
}

/**
 * Lines are gathered and written once per event-loop turn: under load one write per
 * request line costs more than the rest of the request. Flushed on exit too.
 */
function batchedWriter(stream: NodeJS.WriteStream): (line: string) => void {
  let pending = ""
  let scheduled = false
  const flush = () => {
    scheduled = false
    if (!pending) return
    const out = pending
    pending = ""
    stream.write(out)
  }
  process.once("exit", flush)
  return (line) => {
    pending += line
    if (pending.length > 65536) flush()
    else if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  }
}

type Format = (level: LineLevel, message: string, fields: Fields | undefined) => string

function jsonFormat(): Format {
  const now = clock()
  return (level, message, fields) => formatJsonLine(now(), level, message, fields)
}

function prettyFormat(stream: NodeJS.WriteStream): Format {
  const now = clock()
  const color = stream.isTTY === true && !process.env.NO_COLOR
  return (level, message, fields) => {
    const time = now().slice(11, 23)
    const head = color ? `\u001b[90m${time}\u001b[0m \u001b[${COLOR[level]}m${LABEL[level]}\u001b[0m` : `${time} ${LABEL[level]}`
    return `${head} ${message}${formatFields(fields)}\n`
  }
}

export function createLogger(opts: { level: LogLevel; format: LogFormat; stream?: NodeJS.WriteStream }): Logger {
  const stream = opts.stream ?? process.stderr
  const format = opts.format === "json" ? jsonFormat() : prettyFormat(stream)
  const write = batchedWriter(stream)
  let threshold = LEVELS[opts.level]
  const line = (level: LineLevel, message: string, fields: Fields | undefined) => {
    if (LEVELS[level] > threshold) return
    write(format(level, String(message), fields))
  }
  return {
    error: (m, f) => line("error", m, f),
    warn: (m, f) => line("warn", m, f),
    info: (m, f) => line("info", m, f),
    debug: (m, f) => line("debug", m, f),
    enabled: (level) => LEVELS[level] <= threshold,
    setLevel(level) {
      threshold = LEVELS[level]
    },
  }
}
