import { describe, expect, test } from "bun:test"
import { PassThrough } from "node:stream"
import { createLogger, formatFields } from "../../src/observability/log.ts"
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
