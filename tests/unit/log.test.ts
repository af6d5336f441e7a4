import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { PassThrough, Writable } from "node:stream"
import { createLogger, formatFields } from "../../src/observability/log.ts"
import { CONTROL, hostileString } from "../helpers/hostile.ts"
import { until } from "../helpers/wait.ts"

describe("logger", () => {
  test("human fields: key=value, quoted when needed, unset ones left out", () => {
    expect(formatFields({ a: 1, b: true, c: "plain", d: "two words", e: 'say "x"', f: undefined, g: null, h: "", i: ["x"] })).toBe(
      ' a=1 b=true c=plain d="two words" e="say \\"x\\"" i="[\\"x\\"]"'
    )
  })

  test("levels below the threshold are not written and enabled() says so; setLevel changes both", async () => {
    const stream = new PassThrough()
    let out = ""
    stream.on("data", (c) => (out += c))
    const log = createLogger({ level: "warn", format: "json", stream: stream as unknown as NodeJS.WriteStream })
    expect([log.enabled("error"), log.enabled("warn"), log.enabled("info"), log.enabled("debug")]).toEqual([true, true, false, false])
    log.info("hidden")
    log.warn("shown", { backend: "b1" })
    log.setLevel("debug")
    expect(log.enabled("debug")).toBe(true)
    log.debug("now shown")
    log.flush()
    const lines = out.trim().split("\n").map((l) => JSON.parse(l))
    expect(lines.map((l) => [l.level, l.msg])).toEqual([["warn", "shown"], ["debug", "now shown"]])
    expect(lines[0].backend).toBe("b1")
  })

  test("lines are written together, at most 20 ms after the first of a batch, in order", async () => {
    const stream = new PassThrough()
    const writes: string[] = []
    stream.on("data", (c) => writes.push(String(c)))
    const log = createLogger({ level: "info", format: "json", stream: stream as unknown as NodeJS.WriteStream })
    for (let i = 0; i < 50; i++) log.info("request", { i })
    await until(() => writes.length, (n) => n > 0, { what: "the batch" })
    const lines = writes.join("").trim().split("\n").map((l) => JSON.parse(l))
    expect(lines.map((l) => l.i)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(writes).toHaveLength(1)
  })
})

/** A logger writing into a string, read after flush(). */
function capture(format: "json" | "pretty") {
  let out = ""
  const stream = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk)
      done()
    },
  }) as unknown as NodeJS.WriteStream
  const log = createLogger({ level: "info", format, stream })
  return {
    log,
    take(): string {
      log.flush()
      const line = out
      out = ""
      return line
    },
  }
}

// Messages and fields carry what clients and the network chose (a model name, an mDNS
// service name, an upstream error): one entry stays one line, with nothing a terminal acts on.
describe("hostile text in log lines", () => {
  test("JSON: one line per entry that parses back to the message and every field", () => {
    const { log, take } = capture("json")
    fc.assert(
      fc.property(hostileString(), hostileString(), (message, model) => {
        log.info(message, { model, n: 1 })
        const out = take()
        expect(out.indexOf("\n")).toBe(out.length - 1)
        expect(JSON.parse(out)).toMatchObject({ level: "info", msg: message, model, n: 1 })
      }),
      { numRuns: 300 }
    )
  })

  test("pretty: one line per entry, no control character, and a field reads back as written", () => {
    const { log, take } = capture("pretty")
    fc.assert(
      fc.property(hostileString(), hostileString(), (message, model) => {
        log.info(message)
        log.warn("m", { n: 1, model })
        const [said, fields] = take().split(/(?<=\n)/)
        for (const out of [said!, fields!]) {
          expect(out.endsWith("\n")).toBe(true)
          expect(CONTROL.test(out.slice(0, -1))).toBe(false)
        }
        if (model === "") return
        const value = fields!.slice(fields!.indexOf("m n=1 model=") + 12, -1)
        // Unquoted, a lone surrogate is written as UTF-8 can: U+FFFD (quoted, JSON escapes it).
        expect(value.startsWith('"') ? JSON.parse(value) : value).toBe(value.startsWith('"') ? model : Buffer.from(model).toString())
      }),
      { numRuns: 300 }
    )
  })
})
