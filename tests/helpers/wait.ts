/**
 * Waiting on a condition instead of sleeping: poll it until it holds, with a deadline
 * that fails the test saying what was awaited and what was seen last. To show that
 * something did NOT happen, wait for a later event that must come after it, then look.
 */

export interface WaitOptions {
  /** Fail after this long (default 10 s: a wait returns as soon as the condition holds, so a
   * generous deadline costs nothing on a quiet machine and saves a loaded one). */
  timeoutMs?: number
  /** Poll interval (default 10 ms; spawning a probe per poll wants more). */
  everyMs?: number
  /** What is awaited, for the failure message. */
  what?: string
}

/** Poll `get` until `ok` accepts its value; resolves with that value. */
export async function until<T>(get: () => T | Promise<T>, ok: (value: T) => boolean, opts: WaitOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await get()
    if (ok(value)) return value
    if (Date.now() > deadline) {
      throw new Error(`${opts.what ?? "condition"} not reached in ${timeoutMs} ms (last: ${JSON.stringify(value)?.slice(0, 500)})`)
    }
    await Bun.sleep(opts.everyMs ?? 10)
  }
}

/** Poll until `check` is true (counters that settle just after a response ends, a status that changes). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what?: string): Promise<void> {
  await until(check, Boolean, { timeoutMs, what })
}
