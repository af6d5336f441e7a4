/**
 * Why a test is skipped, said once where it is decided: `test.skipIf(lacking("zsh is not
 * installed", haveShell("zsh")))`. When `npm test` runs the suite (scripts/test.ts sets
 * NEXUS_TEST_SKIPS to a file), each reason is recorded with the test file that gave it,
 * and the summary lists the skipped tests under their reasons.
 */
import { appendFileSync } from "node:fs"
import { relative } from "node:path"

const root = new URL("../..", import.meta.url).pathname

/** The test file that called us, from the stack (relative to the repository). */
function callerFile(): string {
  const frames = new Error().stack?.split("\n") ?? []
  for (const frame of frames) {
    const path = /(\/[^\s():]+\.test\.tsx?)/.exec(frame)?.[1]
    if (path) return relative(root, path)
  }
  return "unknown file"
}

/** True (skip) when `available` is falsy, recording `reason` for the summary. */
export function lacking(reason: string, available: unknown): boolean {
  if (available) return false
  const log = process.env.NEXUS_TEST_SKIPS
  if (log) appendFileSync(log, `${JSON.stringify({ file: callerFile(), reason })}\n`)
  return true
}
