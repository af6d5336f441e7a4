/**
 * Settings a gateway needs that Bun reads only when the process starts, so `nexus serve`
 * runs itself again with them when they are not set:
 *
 * - Bun caps concurrent outgoing `fetch` requests process-wide (256 by default, from
 *   BUN_CONFIG_MAX_HTTP_REQUESTS). A gateway behind which 1,000 streams are open would
 *   silently queue the rest.
 * - Bun lowers JavaScriptCore's minimum heap to 8 MB (its own default is 32 MB), which
 *   suits short scripts. Every request leaves short-lived objects, and at 16 MB the young
 *   generation is collected half as often, for less CPU per request; idle memory stays the
 *   same, under load the heap holds more garbage between collections.
 *
 * A value the user set is kept. On Linux and macOS the process replaces itself with
 * execve(2): same PID (systemd's MainPID and signals stay right) and no parent process
 * left holding memory. Where that is not possible (Windows) it runs a child and forwards
 * signals and the exit code.
 * @module
 */
import { dlopen, FFIType, ptr } from "bun:ffi"

export const FETCH_CAP_ENV = "BUN_CONFIG_MAX_HTTP_REQUESTS"
export const FETCH_CAP = "16384"
const HEAP_ENV = "BUN_JSC_largeHeapSize"
const HEAP_BYTES = String(16 << 20)

/** What the re-run sets (a value already in the environment is kept). */
export const SERVE_RUNTIME_ENV: Readonly<Record<string, string>> = { [HEAP_ENV]: HEAP_BYTES, [FETCH_CAP_ENV]: FETCH_CAP }

/** Arguments to run this same program again (a compiled binary has no script path). */
export function selfCommand(): string[] {
  const script = process.argv[1] ?? ""
  const compiled = script.startsWith("/$bunfs/") || /^[A-Z]:[\\/]~BUN[\\/]/i.test(script)
  return [process.execPath, ...(compiled ? process.argv.slice(2) : process.argv.slice(1))]
}

/** execve(2) through libc. Returns false where there is no libc to call; true if it was called and failed. */
function execInPlace(argv: string[], env: Record<string, string | undefined>): boolean {
  const libc = { linux: "libc.so.6", darwin: "libSystem.B.dylib" }[process.platform as string]
  if (!libc) return false
  const lib = dlopen(libc, { execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 } })
  // The buffers must stay referenced until execve returns (or never does).
  const held: Buffer[] = []
  const cString = (s: string) => {
    const b = Buffer.from(`${s}\0`)
    held.push(b)
    return ptr(b)
  }
  const cArray = (items: string[]) => {
    const a = new BigUint64Array(items.length + 1)
    items.forEach((s, i) => (a[i] = BigInt(cString(s))))
    return ptr(a)
  }
  const envList = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]))
  lib.symbols.execve(cString(argv[0]!), cArray(argv), cArray(envList))
  lib.close()
  return true
}

/**
 * Re-run the current command with the serving settings. Returns only when no re-run is
 * needed (the fetch cap, which the re-run always sets, is already set).
 */
export async function ensureServeRuntime(): Promise<void> {
  if (process.env[FETCH_CAP_ENV]) return
  const argv = selfCommand()
  const env = { ...SERVE_RUNTIME_ENV, ...process.env, [FETCH_CAP_ENV]: FETCH_CAP }
  let tried = false
  try {
    tried = execInPlace(argv, env)
  } catch {
    // No usable FFI here: fall through to a child process.
  }
  if (tried) {
    // The kernel refused to run this executable again (seen under qemu-user without
    // binfmt_misc): a child would fail the same way, so serve with Bun's default cap.
    process.stderr.write(`nexus: could not re-execute to raise ${FETCH_CAP_ENV}; at most 256 upstream requests run at once (set ${FETCH_CAP_ENV}=${FETCH_CAP} to lift it)\n`)
    return
  }
  const child = Bun.spawn(argv, { env, stdio: ["inherit", "inherit", "inherit"] })
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => child.kill(signal))
  }
  process.exit(await child.exited)
}
