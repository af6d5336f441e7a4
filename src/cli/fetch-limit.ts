/**
 * Bun caps concurrent outgoing `fetch` requests process-wide (256 by default), and the
 * cap is read from BUN_CONFIG_MAX_HTTP_REQUESTS only when the process starts. A gateway
 * behind which 1,000 streams are open would silently queue the rest, so `nexus serve`
 * re-executes itself once with a higher cap when none was set.
 * @module
 */

export const FETCH_CAP_ENV = "BUN_CONFIG_MAX_HTTP_REQUESTS"
export const FETCH_CAP = "16384"

/** Arguments to run this same program again (a compiled binary has no script path). */
export function selfCommand(): string[] {
  const script = process.argv[1] ?? ""
  const compiled = script.startsWith("/$bunfs/") || /^[A-Z]:[\\/]~BUN[\\/]/i.test(script)
  return [process.execPath, ...(compiled ? process.argv.slice(2) : process.argv.slice(1))]
}

/**
 * Re-run the current command with the raised cap, forwarding signals and the exit
 * code. Returns only when no re-exec is needed.
 */
export async function ensureFetchCap(): Promise<void> {
  if (process.env[FETCH_CAP_ENV]) return
  const child = Bun.spawn(selfCommand(), {
    env: { ...process.env, [FETCH_CAP_ENV]: FETCH_CAP },
    stdio: ["inherit", "inherit", "inherit"],
  })
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => child.kill(signal))
  }
  process.exit(await child.exited)
}
