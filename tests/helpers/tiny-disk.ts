/**
 * Disks that really fill up: 1 MiB tmpfs mounts of the test's own (tests run as root),
 * and a way to fill one. Call `tinyDisks()` at a test file's top level: its disks are
 * unmounted after that file's tests.
 */
import { afterAll } from "bun:test"
import { appendFileSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export function tinyDisks(): { make(): string | undefined } {
  const mounts: string[] = []
  afterAll(() => {
    // Lazily: SQLite lets go of a closed file only once its statements are collected.
    for (const dir of mounts.splice(0)) if (Bun.spawnSync(["umount", "-l", dir]).exitCode === 0) rmSync(dir, { recursive: true, force: true })
  })
  return {
    /** A fresh 1 MiB tmpfs, or undefined where mounting is not allowed. */
    make() {
      const dir = mkdtempSync(join(tmpdir(), "nexus-disk-"))
      if (Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]).exitCode !== 0) {
        rmSync(dir, { recursive: true, force: true })
        return undefined
      }
      mounts.push(dir)
      return dir
    },
  }
}

/** Fill the disk at `dir` page by page until it takes no more; the filler's path. */
export function fill(dir: string): string {
  const filler = join(dir, "filler")
  const page = Buffer.alloc(4096, 1)
  for (;;) {
    try {
      appendFileSync(filler, page)
    } catch {
      return filler
    }
  }
}
