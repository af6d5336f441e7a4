/**
 * Logging through consola, as human lines (`pretty`) or one JSON object per line
 * (`json`, for journald and log shippers). Fields are structured; message content
 * and credentials never reach them. Our own reporters format each line in one pass:
 * consola's fancy reporter costs more per line than proxying the request did.
 * @module
 */
// consola/core: the same createConsola without the bundled reporters we replace, which would only take memory.
import { createConsola, type ConsolaInstance, type LogObject } from "consola/core"
import type { LogFormat, LogLevel } from "../config/types.ts"
import type { Fields, LineLevel, Logger } from "../core/logger.ts"

export type { Fields, LineLevel, Logger }

const LEVELS: Record<LogLevel, number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 }

const NEEDS_QUOTES = /[\s"=\p{Cc}]/u

/**
 * Messages and fields carry text clients and the network chose (a model name, an mDNS
 * service name, an upstream error): in a human line, a control character is written as
 * its JSON escape, so it can neither start a forged line nor drive the terminal.
 * JSON.stringify escapes C0 but leaves DEL and C1 (0x7f-0x9f) raw: those are escaped here.
 */
const CONTROL = /\p{Cc}/u
const C1 = /[\u007f-\u009f]/g
const hex = (ch: string) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`
const quoted = (s: string) => JSON.stringify(s).replace(C1, hex)
const printable = (s: string) => (CONTROL.test(s) ? quoted(s).slice(1, -1) : s)

/** Each `key=value` pair for the human format, as pieces: " ", key, "=", value. */
function addFields(fields: Fields | undefined, add: (piece: string) => void): void {
  if (!fields) return
  for (const k in fields) {
    const v = fields[k]
    if (v === undefined || v === null || v === "") continue
    add(" ")
    add(k)
    add("=")
    // Numbers and booleans never need quoting: skip the regex for them.
    if (typeof v === "number" || typeof v === "boolean") add(String(v))
    else {
      const s = typeof v === "string" ? v : JSON.stringify(v)
      add(NEEDS_QUOTES.test(s) ? quoted(s) : s)
    }
  }
}

/** `key=value` pairs for the human format; values with spaces or quotes are quoted. */
export function formatFields(fields: Fields | undefined): string {
  const pieces: string[] = []
  addFields(fields, (p) => pieces.push(p))
  return pieces.join("")
}

const LABEL: Record<string, string> = { fatal: "ERROR", error: "ERROR", warn: "WARN ", info: "INFO ", debug: "DEBUG", trace: "TRACE" }
const COLOR: Record<string, string> = { fatal: "31", error: "31", warn: "33", info: "36", debug: "90", trace: "90" }

/** Under load, lines are written together at most this often. */
const FLUSH_MS = 20

interface Writer {
  /** Add a piece of the current line. */
  add(piece: string): void
  /** The current line is complete. */
  end(): void
  flush(): void
}

/**
 * Lines are gathered and written together every FLUSH_MS (or at 64 KB): under load one
 * write per line costs more than the rest of the request, and neither a person nor a log
 * shipper notices 20 ms. Written on exit too, and whenever `flush()` is called. A line
 * arrives as pieces kept in one list that is reused, and joined once per write, so a
 * line allocates a fraction of what a string per field, concatenated, would.
 */
function batchedWriter(stream: NodeJS.WriteStream): Writer {
  const pending: string[] = []
  let size = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    if (pending.length === 0) return
    const out = pending.join("")
    pending.length = 0
    size = 0
    stream.write(out)
  }
  process.once("exit", flush)
  return {
    flush,
    add(piece) {
      pending.push(piece)
      size += piece.length
    },
    end() {
      pending.push("\n")
      if (size > 65536) flush()
      // Unref: a command that is done exits at once (the exit handler writes what is left).
      else if (timer === undefined) timer = setTimeout(flush, FLUSH_MS).unref()
    },
  }
}

/**
 * The ISO time of a line, formatted once per millisecond: under load many lines share
 * one, and formatting a Date costs more than the rest of the line's head.
 */
function isoTime(): (ms: number) => string {
  let lastMs = Number.NaN
  let last = ""
  return (ms) => {
    if (ms !== lastMs) {
      lastMs = ms
      last = new Date(ms).toISOString()
    }
    return last
  }
}

/** What our reporters write a line from: consola's log object, or the direct path's parts. */
interface LineReporter {
  log(obj: LogObject): void
  line(type: string, ms: number, message: string, fields: Fields | undefined): void
}

type LineFn = LineReporter["line"]

/** A reporter consola can call too: its log object is read into the line's parts. */
function withLogObjects(line: LineFn): LineReporter {
  return {
    line,
    log(obj) {
      const [message, fields] = obj.args as [unknown, Fields | undefined]
      line(obj.type, obj.date.getTime(), String(message), fields)
    },
  }
}

function jsonReporter(writer: Writer): LineReporter {
  const time = isoTime()
  const line = (type: string, ms: number, message: string, fields: Fields | undefined) => {
    const out: Fields = { time: time(ms), level: type === "fatal" ? "error" : type, msg: message }
    if (fields) for (const k in fields) if (fields[k] !== undefined) out[k] = fields[k]
    writer.add(JSON.stringify(out))
    writer.end()
  }
  return withLogObjects(line)
}

function prettyReporter(writer: Writer, stream: NodeJS.WriteStream): LineReporter {
  const { add } = writer
  const color = stream.isTTY === true && !process.env.NO_COLOR
  // The head (time and level) of the last line, reused while both stay the same: under
  // load many lines share one, and formatting a Date costs more than the rest of it.
  let headMs = Number.NaN
  let headType = ""
  let head = ""
  const line = (type: string, ms: number, message: string, fields: Fields | undefined) => {
    if (ms !== headMs || type !== headType) {
      headMs = ms
      headType = type
      const time = new Date(ms).toISOString().slice(11, 23)
      const label = LABEL[type] ?? type.toUpperCase().padEnd(5)
      head = color ? `\u001b[90m${time}\u001b[0m \u001b[${COLOR[type] ?? "0"}m${label}\u001b[0m ` : `${time} ${label} `
    }
    add(head)
    add(printable(message))
    addFields(fields, add)
    writer.end()
  }
  return withLogObjects(line)
}

export function createLogger(opts: { level: LogLevel; format: LogFormat; stream?: NodeJS.WriteStream }): Logger {
  const stream = opts.stream ?? process.stderr
  const writer = batchedWriter(stream)
  const reporter = opts.format === "json" ? jsonReporter(writer) : prettyReporter(writer, stream)
  const consola: ConsolaInstance = createConsola({ level: LEVELS[opts.level], throttle: 0, reporters: [reporter] })
  // Info and debug lines come one per request: they go to consola's reporter straight
  // away, without consola's per-line dispatch (defaults merged into a new log object, a
  // repeat check with its serialisation and timer), which costs more than the line and
  // does nothing here (repeats are not throttled).
  const direct = (type: "info" | "debug") => (message: string, fields?: Fields) => {
    if (consola.level >= LEVELS[type]) reporter.line(type, Date.now(), message, fields)
  }
  return {
    error: (m, f) => consola.error(m, f),
    warn: (m, f) => consola.warn(m, f),
    info: direct("info"),
    debug: direct("debug"),
    // consola's numbers: the line is written when its level is at or below the threshold.
    enabled: (level) => consola.level >= LEVELS[level],
    setLevel(level) {
      consola.level = LEVELS[level]
    },
    flush: writer.flush,
  }
}
