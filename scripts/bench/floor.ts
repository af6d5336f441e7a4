/**
 * The runtime floor: the thinnest Bun proxy, no parsing, no routing.
 *   bun scripts/bench/floor.ts <port> <upstream>
 */
const [port, upstream] = Bun.argv.slice(2)
Bun.serve({
  port: Number(port),
  hostname: "127.0.0.1",
  idleTimeout: 0,
  fetch(req) {
    const url = new URL(req.url)
    return fetch(upstream + url.pathname, { method: req.method, headers: req.headers, body: req.body, signal: req.signal })
  },
})
