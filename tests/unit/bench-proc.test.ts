import { describe, expect, test } from "bun:test"
import { median, parseStatTicks, parseStatusMemory, parseStatusRss } from "../../scripts/bench/proc.ts"

describe("bench /proc readers", () => {
  test("utime and stime come from fields 14 and 15", () => {
    const stat = "8876 (bun) S 8872 8872 3135 0 -1 4194304 100 0 0 0 1234 567 0 0 20 0 9 0 41226 3133440 382 18446744073709551615"
    expect(parseStatTicks(stat)).toEqual({ utime: 1234, stime: 567 })
  })

  test("a command name with spaces and parentheses does not shift the fields", () => {
    const stat = "42 (odd ) name) (x) R 1 42 42 0 -1 4194304 10 0 0 0 7 3 0 0 20 0 1 0 100 2000 50 0"
    expect(parseStatTicks(stat)).toEqual({ utime: 7, stime: 3 })
  })

  test("VmRSS is read in kB and returned in bytes", () => {
    expect(parseStatusRss("Name:\tbun\nVmPeak:\t  900 kB\nVmRSS:\t   51234 kB\nRssAnon:\t 1 kB\n")).toBe(51234 * 1024)
    expect(() => parseStatusRss("Name:\tbun\n")).toThrow()
  })

  test("resident memory by kind: anonymous, and file-backed with shared memory", () => {
    const status = "Name:\tbun\nVmRSS:\t   51234 kB\nRssAnon:\t   12000 kB\nRssFile:\t   39000 kB\nRssShmem:\t     234 kB\n"
    expect(parseStatusMemory(status)).toEqual({ rss: 51234 * 1024, anon: 12000 * 1024, file: 39234 * 1024 })
    expect(() => parseStatusMemory("Name:\tbun\nVmRSS:\t 1 kB\n")).toThrow("RssAnon")
  })

  test("median of odd and even counts", () => {
    expect(median([5, 1, 3])).toBe(3)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(Number.isNaN(median([]))).toBe(true)
  })
})
