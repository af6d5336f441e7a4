/**
 * One loopback rule for addresses (a client's socket) and hosts (a URL or a config value):
 * what counts, and look-alikes that must not.
 */
import { describe, expect, test } from "bun:test"
import { isLoopbackAddress, isLoopbackHost } from "../../src/net.ts"

const LOOPBACK_ADDRESSES = [
  "127.0.0.1",
  "127.0.0.0",
  "127.255.255.255",
  "127.1.2.3",
  "::1",
  "[::1]",
  "0:0:0:0:0:0:0:1",
  "0000:0000:0000:0000:0000:0000:0000:0001",
  "::ffff:127.0.0.1",
  "::FFFF:127.9.8.7",
  "[::ffff:127.0.0.1]",
  "::ffff:7f00:1",
  "0:0:0:0:0:ffff:7f01:203",
]

const NOT_LOOPBACK_ADDRESSES = [
  "",
  "126.255.255.255",
  "128.0.0.1",
  "10.0.0.1",
  "0.0.0.0",
  "::",
  "::2",
  "1::1",
  "::ffff:10.0.0.1",
  "::ffff:a00:1",
  "::127.0.0.1",
  "64:ff9b::127.0.0.1",
  "fe80::1",
  "::1%lo",
  "127.0.0.1.5",
  "127.0.0",
  "127.0.0.256",
  "127.00.0.1",
  "127.evil.com",
  "127.0.0.1.evil.com",
  "::1:",
  ":::1",
  "1:2:3:4:5:6:7:8:9",
]

describe("isLoopbackAddress", () => {
  test.each(LOOPBACK_ADDRESSES)("%s is loopback", (ip) => expect(isLoopbackAddress(ip)).toBe(true))
  test.each(NOT_LOOPBACK_ADDRESSES)("%p is not", (ip) => expect(isLoopbackAddress(ip)).toBe(false))

  test("an unknown client address is not loopback", () => {
    expect(isLoopbackAddress(undefined)).toBe(false)
  })

  test("names are not addresses", () => {
    expect(isLoopbackAddress("localhost")).toBe(false)
  })
})

describe("isLoopbackHost", () => {
  test.each([...LOOPBACK_ADDRESSES, "localhost", "LOCALHOST", "localhost.", "LOCALHOST.", "api.localhost", "a.b.Localhost."])(
    "%s is loopback",
    (host) => expect(isLoopbackHost(host)).toBe(true)
  )

  test.each([...NOT_LOOPBACK_ADDRESSES, "localhost.evil.com", "evil-localhost", "notlocalhost", ".localhost", "localhost..", "local"])(
    "%p is not",
    (host) => expect(isLoopbackHost(host)).toBe(false)
  )

  test("holds for hosts as URL parsing writes them", () => {
    for (const url of ["http://[::ffff:127.0.0.1]:8000/", "http://LocalHost.:11434", "http://127.1:80", "http://[0::1]/"]) {
      expect(isLoopbackHost(new URL(url).hostname)).toBe(true)
    }
    expect(isLoopbackHost(new URL("http://127.evil.com/").hostname)).toBe(false)
  })
})
