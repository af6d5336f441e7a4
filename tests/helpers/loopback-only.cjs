/**
 * Preloaded into a Node agent (NODE_OPTIONS=--require) by the agent tests: every TCP
 * connection to anything but loopback fails at once and is written to the file named by
 * NEXUS_TEST_BLOCKED_LOG, so a test can both keep the agent offline and see what it tried.
 * Node's fetch ignores HTTPS_PROXY, hence this, at the socket level all clients share.
 */
const net = require("node:net")
const fs = require("node:fs")

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"])
const connect = net.Socket.prototype.connect

net.Socket.prototype.connect = function (...args) {
  const first = args[0]
  const opts = typeof first === "object" && first !== null && !Array.isArray(first) ? first : { port: first, host: typeof args[1] === "string" ? args[1] : undefined }
  const host = opts.path ? "unix" : (opts.host ?? "localhost")
  if (host !== "unix" && !LOOPBACK.has(host)) {
    const log = process.env.NEXUS_TEST_BLOCKED_LOG
    if (log) fs.appendFileSync(log, `${host}:${opts.port}\n`)
    process.nextTick(() => this.destroy(new Error(`connection to ${host} blocked: tests stay on loopback`)))
    return this
  }
  return connect.apply(this, args)
}
