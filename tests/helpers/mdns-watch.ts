/**
 * `bun tests/helpers/mdns-watch.ts _nexus._tcp`: print one line per DNS-SD event,
 * `up <port> <name>` or `down <port> <name>`, using Nexus's own mDNS module. Run inside a
 * network namespace by the mDNS tests.
 */
import { createMdns } from "../../src/discovery/mdns.ts"

const type = process.argv[2] ?? "_nexus._tcp"
const mdns = createMdns((m) => console.error(m))
mdns.browse(type, {
  up: (s) => console.log(`up ${s.port} ${s.name}`),
  down: (s) => console.log(`down ${s.port} ${s.name}`),
})
process.on("SIGTERM", () => void mdns.close().then(() => process.exit(0)))
