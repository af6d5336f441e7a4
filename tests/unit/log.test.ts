import { describe, expect, test } from "bun:test"
import { PassThrough } from "node:stream"
import { createLogger, formatFields } from "../../src/observability/log.ts"

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
    await new Promise((r) => setImmediate(r))
    const lines = out.trim().split("\n").map((l) => JSON.parse(l))
    expect(lines.map((l) => [l.level, l.msg])).toEqual([["warn", "shown"], ["debug", "now shown"]])
    expect(lines[0].backend).toBe("b1")
  })
})
