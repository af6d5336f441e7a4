/**
 * Port numbers for processes that must be told their port up front (`nexus serve --port`,
 * an emulator started from the command line), unlike the in-process servers on port 0.
 */

/** `preferred` when it is free on 127.0.0.1, else any port the OS hands out (bound, then released). */
export function freePort(preferred = 0): number {
  for (const port of preferred ? [preferred, 0] : [0]) {
    try {
      const probe = Bun.serve({ port, hostname: "127.0.0.1", fetch: () => new Response() })
      const got = probe.port!
      probe.stop(true)
      return got
    } catch {
      // taken: try the next
    }
  }
  throw new Error("no free port")
}
